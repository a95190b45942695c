// Tests that run once per encoding: readable names for the instances and for GetParam().
#pragma once

#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "twinlink/datapoint.hpp"

namespace twinlink {

// Found by gtest through argument-dependent lookup.
inline void PrintTo(Encoding encoding, std::ostream* os) { *os << encoding_name(encoding); }

}  // namespace twinlink

inline std::string encoding_param_name(const ::testing::TestParamInfo<twinlink::Encoding>& info) {
    return twinlink::encoding_name(info.param);
}
