#include "sandbox/detail/job_link.hpp"

#include "sandbox/detail/process_reactor.hpp"
#include "sandbox/detail/sandbox_job.hpp"

namespace millrace::sandbox::detail {

void job_link::point_to(std::shared_ptr<sandbox_job> next) {
  job = std::move(next);
  pid.store(job->pid());
  if (kill.load())
    job->kill_now();
  else if (grace)
    job->terminate(*grace);
}

linked_process::linked_process(std::shared_ptr<process_reactor> reactor, std::shared_ptr<job_link> link)
  : reactor_(std::move(reactor)), link_(std::move(link)) {
  // nop
}

pid_t linked_process::pid() const {
  return link_->pid.load();
}

void linked_process::terminate(std::chrono::milliseconds grace) {
  link_->stop_asked.store(true);
  reactor_->post([link = link_, grace] {
    if (!link->grace)
      link->grace = grace;
    link->job->terminate(grace);
  });
}

void linked_process::kill() {
  link_->kill.store(true);
  link_->stop_asked.store(true);
  reactor_->post([link = link_] { link->job->kill_now(); });
}

} // namespace millrace::sandbox::detail
