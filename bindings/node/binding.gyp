# The addon (build/Release/twinlink.node) over libtwinlink's C ABI. scripts/build-native.js runs
# this after it has built libtwinlink, and passes where that is through the environment:
# TWINLINK_INCLUDE_DIR (twinlink.h) and TWINLINK_LIB_DIR (libtwinlink.so). The addon finds
# libtwinlink.so.0 next to itself (RPATH $ORIGIN); the build script copies it there.
{
  "targets": [
    {
      "target_name": "twinlink",
      "sources": [
        "src/addon.cpp",
        "src/args.cpp",
        "src/callbacks.cpp",
        "src/channel.cpp",
        "src/client.cpp",
        "src/completion.cpp",
        "src/datapoints.cpp",
        "src/device.cpp",
        "src/errors.cpp",
        "src/options.cpp",
        "src/pool.cpp",
        "src/resource.cpp",
        "src/runtime.cpp",
        "src/shadow.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.TWINLINK_INCLUDE_DIR || ''\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "libraries": [
        "-L<!(node -p \"process.env.TWINLINK_LIB_DIR || ''\")",
        "-ltwinlink",
        "-Wl,-rpath,'$$ORIGIN'"
      ]
    }
  ]
}
