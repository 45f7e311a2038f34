#include "adapter/server/connection_slots.h"

#include "gtest/gtest.h"

namespace ma::server {
namespace {

TEST(ConnectionSlotsTest, AdmitsUpToTheLimitWithoutEvicting) {
  ConnectionSlots slots(/*max_connections=*/3, /*max_per_source=*/3);
  for (int i = 0; i < 3; ++i) {
    ConnectionSlots::Admission a = slots.Admit("10.0.0.1");
    EXPECT_NE(a.id, 0u);
    EXPECT_FALSE(a.evicted.has_value());
  }
  EXPECT_EQ(slots.size(), 3u);
}

TEST(ConnectionSlotsTest, WhenFullTheOldestIdleOfTheLargestSourceMakesRoom) {
  ConnectionSlots slots(4, 4);
  const ConnectionSlots::Id aggregator = slots.Admit("10.0.0.9").id;
  const ConnectionSlots::Id hostile_first = slots.Admit("10.0.0.1").id;
  slots.Admit("10.0.0.1");
  slots.Admit("10.0.0.1");

  ConnectionSlots::Admission a = slots.Admit("10.0.0.9");
  ASSERT_NE(a.id, 0u);
  EXPECT_EQ(a.evicted, hostile_first);
  (void)aggregator;
}

TEST(ConnectionSlotsTest, AConnectionWithARequestInProgressIsNeverEvicted) {
  ConnectionSlots slots(2, 2);
  const ConnectionSlots::Id busy = slots.Admit("10.0.0.1").id;
  const ConnectionSlots::Id idle = slots.Admit("10.0.0.1").id;
  slots.SetIdle(busy, false);

  const ConnectionSlots::Admission admitted = slots.Admit("10.0.0.2");
  EXPECT_EQ(admitted.evicted, idle);
  slots.Release(idle);
  slots.SetIdle(admitted.id, false);
  // Now the only other connection is busy: nothing can make room.
  EXPECT_EQ(slots.Admit("10.0.0.3").id, 0u);
}

TEST(ConnectionSlotsTest, AConnectionBeingEvictedIsNotChosenTwice) {
  ConnectionSlots slots(2, 2);
  const ConnectionSlots::Id first = slots.Admit("10.0.0.1").id;
  const ConnectionSlots::Id second = slots.Admit("10.0.0.1").id;
  EXPECT_EQ(slots.Admit("10.0.0.2").evicted, first);
  // `first` has not closed yet; the next admission takes `second`, not `first` again.
  EXPECT_EQ(slots.Admit("10.0.0.3").evicted, second);
  EXPECT_EQ(slots.size(), 4u);
}

TEST(ConnectionSlotsTest, ASourceAtItsOwnLimitMakesRoomOnlyAmongItsOwn) {
  ConnectionSlots slots(/*max_connections=*/10, /*max_per_source=*/2);
  const ConnectionSlots::Id other = slots.Admit("10.0.0.9").id;
  const ConnectionSlots::Id oldest = slots.Admit("10.0.0.1").id;
  const ConnectionSlots::Id newer = slots.Admit("10.0.0.1").id;

  ConnectionSlots::Admission a = slots.Admit("10.0.0.1");
  EXPECT_EQ(a.evicted, oldest);
  slots.SetIdle(newer, false);
  slots.SetIdle(a.id, false);
  EXPECT_EQ(slots.Admit("10.0.0.1").id, 0u) << "both of its slots are busy";
  EXPECT_NE(slots.Admit("10.0.0.2").id, 0u) << "another source is not affected";
  (void)other;
}

TEST(ConnectionSlotsTest, ReleaseGivesTheSlotBack) {
  ConnectionSlots slots(1, 1);
  const ConnectionSlots::Id first = slots.Admit("10.0.0.1").id;
  slots.SetIdle(first, false);
  EXPECT_EQ(slots.Admit("10.0.0.1").id, 0u);
  slots.Release(first);
  ConnectionSlots::Admission a = slots.Admit("10.0.0.1");
  EXPECT_NE(a.id, 0u);
  EXPECT_FALSE(a.evicted.has_value());
  EXPECT_EQ(slots.size(), 1u);
}

TEST(ConnectionSlotsTest, EvictedConnectionsCountUntilReleasedButNotAgainstTheLimit) {
  ConnectionSlots slots(1, 1);
  const ConnectionSlots::Id first = slots.Admit("10.0.0.1").id;
  const ConnectionSlots::Admission second = slots.Admit("10.0.0.2");
  EXPECT_EQ(second.evicted, first);
  EXPECT_EQ(slots.size(), 2u);
  slots.Release(first);
  EXPECT_EQ(slots.size(), 1u);
  slots.SetIdle(second.id, false);
  EXPECT_EQ(slots.Admit("10.0.0.3").id, 0u);
}

}  // namespace
}  // namespace ma::server
