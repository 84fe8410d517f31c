// The uploading thread's lower priority, read back from the kernel.
#include "upload/io_priority.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace mcaprec::upload {
namespace {

TEST(IoPriorityTest, LowersOnlyTheCallingThread) {
  auto before = priority_of_this_thread();
  ASSERT_TRUE(before.ok()) << before.error().message;
  std::thread uploader([] {
    auto set = lower_io_priority_of_this_thread();
    ASSERT_TRUE(set.ok()) << set.error().message;
    auto read_back = priority_of_this_thread();
    ASSERT_TRUE(read_back.ok()) << read_back.error().message;
    EXPECT_EQ(read_back->io_class, kUploadIoClass);
    EXPECT_EQ(read_back->io_level, kUploadIoLevel);
    EXPECT_EQ(read_back->nice, kUploadNice);
    EXPECT_EQ(read_back->to_string(), "I/O best-effort 7, nice 10");
  });
  uploader.join();
  auto after = priority_of_this_thread();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->io_class, before->io_class);
  EXPECT_EQ(after->nice, before->nice);
}

}  // namespace
}  // namespace mcaprec::upload
