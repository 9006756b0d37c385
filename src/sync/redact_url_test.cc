// RedactUrls (sync_transport.h): passwords and tokens in NATS URLs never
// reach what the transport shows.
#include <gtest/gtest.h>

#include "ruvector_dag/sync_transport.h"

namespace ruvector_dag::sync {
namespace {

TEST(RedactUrls, HidesUserInformation) {
  EXPECT_EQ(RedactUrls("nats://alice:s3cret@127.0.0.1:4222"), "nats://***@127.0.0.1:4222");
  EXPECT_EQ(RedactUrls("nats://tok3n@host:4222"), "nats://***@host:4222");
  EXPECT_EQ(RedactUrls("tls://u:p@ss@host"), "tls://***@host");  // an '@' in the password
  EXPECT_EQ(RedactUrls("u:pw@host:4222"), "***@host:4222");      // no scheme
}

TEST(RedactUrls, KeepsUrlsWithoutUserInformation) {
  EXPECT_EQ(RedactUrls("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
  EXPECT_EQ(RedactUrls(""), "");
  EXPECT_EQ(RedactUrls("nats://@host"), "nats://***@host");
}

TEST(RedactUrls, RedactsEachUrlOfAList) {
  EXPECT_EQ(RedactUrls("nats://a:x@h1:1,nats://h2:2 nats://b:y@h3:3"), "nats://***@h1:1,nats://h2:2 nats://***@h3:3");
  EXPECT_EQ(RedactUrls("nats://a:x@h1:1,"), "nats://***@h1:1,");
}

}  // namespace
}  // namespace ruvector_dag::sync
