# Writes the linker version script of libtwinlink from the public headers, so that the exported
# symbols are exactly the functions declared with TL_API.
#
#   cmake -DHEADER_DIR=<capi/include> -DOUTPUT=<file> -P write_version_script.cmake
#
# A declaration starts its line with TL_API and names the function on that same line.
if(NOT HEADER_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "usage: cmake -DHEADER_DIR=<dir> -DOUTPUT=<file> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

file(GLOB_RECURSE headers "${HEADER_DIR}/*.h")
list(SORT headers)
set(names "")
foreach(header IN LISTS headers)
  file(STRINGS "${header}" lines REGEX "^[ \t]*TL_API[ \t]")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[ \t]*TL_API[ \t][^(]*[^A-Za-z0-9_](tl_[A-Za-z0-9_]+)[ \t]*\\(")
      message(FATAL_ERROR "${header}: cannot find the function name in: ${line}")
    endif()
    list(APPEND names "${CMAKE_MATCH_1}")
  endforeach()
endforeach()
if(NOT names)
  message(FATAL_ERROR "no TL_API declaration found under ${HEADER_DIR}")
endif()
list(SORT names)

set(text "/* Generated from the TL_API declarations of the public headers; do not edit. */\n")
string(APPEND text "TWINLINK_0 {\n  global:\n")
foreach(name IN LISTS names)
  string(APPEND text "    ${name};\n")
endforeach()
string(APPEND text "  local:\n    *;\n};\n")
file(WRITE "${OUTPUT}" "${text}")
