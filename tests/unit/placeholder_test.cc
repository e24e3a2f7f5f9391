#include <gtest/gtest.h>

#include "model/types.h"

TEST(EventType, Aliases) {
  EXPECT_EQ(recstream::model::ParseEventType("pv"), recstream::model::EventType::kView);
}
