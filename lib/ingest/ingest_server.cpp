#include "ingest/ingest_server.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/source_context.hpp"
#include "ingest/tcp_listener.hpp"
#include "ingest/udp_listener.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::ingest {

namespace asio = boost::asio;

namespace {

using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

class AsioIngestServer : public IngestServer {
 public:
  AsioIngestServer(const config::Config& config, pipeline::Pipeline& pipeline)
      : config_(config), pipeline_(pipeline) {}
  ~AsioIngestServer() override { stop(); }

  base::Status open(const IngestOptions& options) {
    const unsigned threads = std::max<uint32_t>(1, config_.pipeline.ingest_threads);
    for (unsigned i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    std::vector<asio::io_context*> all;
    for (auto& context : contexts_) all.push_back(context.get());
    // Sources are spread over the threads in configuration order.
    size_t next = 0;
    for (const config::Source& source : config_.sources) {
      asio::io_context& home = *contexts_[next];
      next = (next + 1) % contexts_.size();
      sources_.push_back(std::make_unique<SourceContext>(config_, source, pipeline_));
      SourceContext& context = *sources_.back();
      if (source.transport == config::Transport::kUdp) {
        auto listener = UdpListener::open(home, context, options);
        if (!listener) return listener.error();
        udp_.push_back(std::move(*listener));
      } else {
        auto listener = TcpListener::open(home, all, context);
        if (!listener) return listener.error();
        tcp_.push_back(std::move(*listener));
      }
      spdlog::info("source {}: listening on {} {} ({})", source.name,
                   config::to_string(source.transport), context.snapshot().bind,
                   config::to_string(source.format));
    }
    for (auto& listener : udp_) listener->start();
    for (auto& listener : tcp_) listener->start();
    for (size_t i = 0; i < contexts_.size(); ++i) {
      threads_.emplace_back([this, i] {
        const std::string name = "mcaprec-in-" + std::to_string(i);
        pthread_setname_np(pthread_self(), name.c_str());
        contexts_[i]->run();
      });
    }
    return {};
  }

  void stop() override {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& context : contexts_) context->stop();
    for (std::thread& thread : threads_) thread.join();
    // The threads are gone: the sockets can be closed from here.
    for (auto& listener : udp_) listener->close();
    for (auto& listener : tcp_) listener->close();
    guards_.clear();
    // Sockets must go before the context that serves them; the handlers still pending (which
    // keep the sessions alive) are destroyed with their contexts, the sources outlive both.
    udp_.clear();
    tcp_.clear();
    contexts_.clear();
  }

  std::vector<SourceStats> stats() const override {
    // sources_ does not change after open(); the counters are atomics or locked inside.
    std::vector<SourceStats> all;
    for (const auto& source : sources_) all.push_back(source->snapshot());
    return all;
  }

 private:
  const config::Config config_;  // a copy: the sources refer to it
  pipeline::Pipeline& pipeline_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::unique_ptr<SourceContext>> sources_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::vector<std::thread> threads_;
  mutable std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace

base::Result<std::unique_ptr<IngestServer>> IngestServer::start(const config::Config& config,
                                                                pipeline::Pipeline& pipeline) {
  return start_tuned(config, pipeline, IngestOptions{});
}

base::Result<std::unique_ptr<IngestServer>> IngestServer::start_tuned(
    const config::Config& config, pipeline::Pipeline& pipeline, const IngestOptions& options) {
  auto server = std::make_unique<AsioIngestServer>(config, pipeline);
  if (base::Status s = server->open(options); !s) return s.error();
  return std::unique_ptr<IngestServer>(std::move(server));
}

}  // namespace mcaprec::ingest
