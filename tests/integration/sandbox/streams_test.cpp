// What goes in and out of a job: stdout and stderr as separate streams, exit
// codes, the fd-3 result channel, stdin data, job files, and 100 MB of output
// streamed without the server buffering it.

#include <atomic>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

/// Param: through a standby sandbox (Warm) or cold.
class SandboxStreams : public ::testing::TestWithParam<bool> {
protected:
  std::unique_ptr<launcher> launcher_ = make_bwrap_launcher(test_config());

  std::shared_ptr<process> start(job_record& rec, const launch_plan& plan, const limits& lim = {}) {
    return start_job(*launcher_, rec, plan, lim, GetParam());
  }
};

TEST_P(SandboxStreams, StdoutAndStderrArriveAsTheirOwnStreams) {
  job_record rec;
  auto proc = start(rec, bash("echo to-out; echo to-err >&2; echo more-out"));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "to-out\nmore-out\n");
  EXPECT_EQ(rec.err(), "to-err\n");
  EXPECT_EQ(rec.result(), "");
  auto info = rec.info();
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_EQ(info.signal, 0);
  EXPECT_EQ(info.sandbox_error, "");
  EXPECT_FALSE(info.terminated);
  EXPECT_FALSE(info.killed);
  EXPECT_GT(info.wall.count(), 0);
  EXPECT_EQ(rec.exit_calls(), 1);
  EXPECT_GT(proc->pid(), 0);
}

TEST_P(SandboxStreams, NonZeroExitCodeIsReported) {
  job_record rec;
  auto proc = start(rec, bash("echo failing >&2; exit 3"));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.info().exit_code, 3);
  EXPECT_EQ(rec.info().signal, 0);
  EXPECT_EQ(rec.info().sandbox_error, "");
  EXPECT_EQ(rec.err(), "failing\n");
}

TEST_P(SandboxStreams, ResultChannelIsFd3AndOnlyThat) {
  auto plan = bash("printf '{\"ok\":true}' >&3; echo out-line; ls /proc/$$/fd > /job/fds; tr '\\n' ' ' < /job/fds");
  plan.result_channel = true;
  job_record rec;
  auto proc = start(rec, plan);
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.result(), "{\"ok\":true}");
  // The job holds stdin, stdout, stderr and the result pipe; bwrap's own
  // descriptors (status, args, files) did not reach it.
  EXPECT_EQ(rec.out(), "out-line\n0 1 2 3 ");
  EXPECT_EQ(rec.err(), "");
  EXPECT_EQ(rec.info().exit_code, 0);
}

TEST_P(SandboxStreams, WithoutResultChannelFd3IsClosed) {
  job_record rec;
  auto proc = start(rec, bash("ls /proc/$$/fd > /job/fds; tr '\\n' ' ' < /job/fds; printf x >&3 || echo no-fd3"));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "0 1 2 no-fd3\n");
  EXPECT_EQ(rec.result(), "");
}

TEST_P(SandboxStreams, StdinDataIsReadable) {
  launch_plan plan;
  plan.argv = {"/usr/bin/cat"};
  plan.stdin_data = "first line\nsecond line\n";
  job_record rec;
  auto proc = start(rec, plan);
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), plan.stdin_data);
  EXPECT_EQ(rec.info().exit_code, 0);
}

TEST_P(SandboxStreams, EmptyStdinIsDevNull) {
  job_record rec;
  auto proc = start(rec, bash("wc -c; readlink /proc/self/fd/0"));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "0\n/dev/null\n");
}

TEST_P(SandboxStreams, UnreadStdinDoesNotBlockAnything) {
  // 32 MiB is far more than a pipe holds; the job never reads it.
  auto plan = bash("echo ignored-stdin");
  plan.stdin_data.assign(32u << 20, 'x');
  job_record rec;
  auto proc = start(rec, plan);
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "ignored-stdin\n");
  EXPECT_EQ(rec.info().exit_code, 0);

  job_record partial;
  plan = bash("head -c 5; echo");
  plan.stdin_data.assign(8u << 20, 'y');
  auto proc2 = start(partial, plan);
  ASSERT_TRUE(partial.wait());
  EXPECT_EQ(partial.out(), "yyyyy\n");
}

TEST_P(SandboxStreams, JobFilesArePlacedWithContentsAndModes) {
  auto plan = bash("cat /job/data/input.txt; stat -c '%n %a' /job/main.sh /job/data/input.txt; /job/main.sh");
  plan.files = {{"/job/main.sh", "#!/bin/bash\necho main-ran \"$HOME\"\n", true},
                {"/job/data/input.txt", "payload\n", false}};
  job_record rec;
  auto proc = start(rec, plan);
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "payload\n/job/main.sh 755\n/job/data/input.txt 644\nmain-ran /job\n");
  EXPECT_EQ(rec.err(), "");
  EXPECT_EQ(rec.info().exit_code, 0);
}

TEST_P(SandboxStreams, EveryByteArrivesBeforeOnExit) {
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> bytes_at_exit{0};
  std::atomic<bool> late{false};
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  exit_info info;
  process_events ev;
  ev.on_output = [&](stream s, std::string_view chunk) {
    if (done)
      late = true;
    if (s == stream::out)
      bytes += chunk.size();
  };
  ev.on_exit = [&](const exit_info& i) {
    std::lock_guard<std::mutex> g{m};
    bytes_at_exit = bytes.load();
    info = i;
    done = true;
    cv.notify_all();
  };
  std::string error;
  // Exits right after writing, with most of the output still in the pipe.
  auto proc = launcher_->start(bash("head -c 3000000 /dev/zero; exit 7"), {}, std::move(ev), error);
  ASSERT_TRUE(proc) << error;
  std::unique_lock<std::mutex> lock{m};
  ASSERT_TRUE(cv.wait_for(lock, wait_bound, [&] { return done; }));
  EXPECT_EQ(bytes_at_exit.load(), 3000000u);
  EXPECT_EQ(info.exit_code, 7);
  EXPECT_FALSE(late.load());
}

TEST_P(SandboxStreams, HundredMegabytesAreStreamedNotBuffered) {
  constexpr uint64_t total = 100ull << 20;
  const uint64_t hwm_before = peak_rss_bytes();
  const uint64_t rss_before = rss_bytes();
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> chunks{0};
  std::atomic<size_t> largest{0};
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  uint64_t at_exit = 0;
  exit_info info;
  process_events ev;
  ev.on_output = [&](stream s, std::string_view chunk) {
    if (s != stream::out)
      return;
    bytes += chunk.size();
    ++chunks;
    if (chunk.size() > largest)
      largest = chunk.size();
  };
  ev.on_exit = [&](const exit_info& i) {
    std::lock_guard<std::mutex> g{m};
    at_exit = bytes.load();
    info = i;
    done = true;
    cv.notify_all();
  };
  std::string error;
  auto proc = launcher_->start(bash("head -c " + std::to_string(total) + " /dev/zero"), {}, std::move(ev), error);
  ASSERT_TRUE(proc) << error;
  std::unique_lock<std::mutex> lock{m};
  ASSERT_TRUE(cv.wait_for(lock, wait_bound, [&] { return done; }));
  EXPECT_EQ(at_exit, total);
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_LE(largest.load(), 64u * 1024);
  EXPECT_GT(chunks.load(), total / (64u * 1024) - 1);
  // Peak RSS of this whole process may not grow by anything near the stream.
  EXPECT_LT(peak_rss_bytes() - hwm_before, 64ull << 20)
    << "VmHWM grew from " << hwm_before << " (RSS " << rss_before << ") to " << peak_rss_bytes();
}

INSTANTIATE_TEST_SUITE_P(Standby, SandboxStreams, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "Warm" : "Cold";
                         });

} // namespace
