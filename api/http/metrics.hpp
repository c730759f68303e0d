// A small metrics registry rendered in the Prometheus text exposition
// format 0.0.4: counters, gauges and histograms with fixed buckets, each in
// families keyed by label values.
//
// Hot path: `family.with({...})` finds a series without taking a lock (an
// open-addressing table of atomic pointers; only inserting a new label set
// locks the family), and inc()/set()/observe() are relaxed atomics. Keep the
// returned reference to skip even the lookup. Series are never removed, so
// references stay valid for the registry's lifetime.
//
// Cardinality is capped per family (max_series); label sets beyond the cap
// all land in one series whose label values are "overflow".

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::api::http::metrics {

/// Content-Type of render()'s output.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Label sets per family before the overflow series takes over.
inline constexpr std::size_t max_series = 2048;

class counter {
public:
  void inc(uint64_t n = 1) noexcept {
    v_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept {
    return v_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> v_{0};
};

class gauge {
public:
  void set(double v) noexcept {
    v_.store(v, std::memory_order_relaxed);
  }
  void inc(double d = 1) noexcept;
  void dec(double d = 1) noexcept {
    inc(-d);
  }
  double value() const noexcept {
    return v_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<double> v_{0};
};

class histogram {
public:
  /// `bounds`: ascending upper bounds, without +Inf; owned by the family.
  explicit histogram(const std::vector<double>& bounds);
  void observe(double v) noexcept;
  /// Cumulative counts per bound plus +Inf (the total count) at the end.
  std::vector<uint64_t> cumulative() const;
  double sum() const noexcept {
    return sum_.load(std::memory_order_relaxed);
  }

private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_; // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

/// Default latency buckets, in seconds (0.5 ms .. 10 s).
const std::vector<double>& default_latency_buckets();

namespace detail {

struct series_base {
  virtual ~series_base() = default;
  std::vector<std::string> values;
  uint64_t hash = 0;
};

/// Name, help, label names and the lock-free series table of one family.
class family_base {
public:
  family_base(std::string name, std::string help, std::vector<std::string> labels);
  virtual ~family_base();
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  const std::string& name() const noexcept {
    return name_;
  }
  const std::vector<std::string>& label_names() const noexcept {
    return labels_;
  }
  virtual const char* type() const noexcept = 0;
  void render(std::string& out) const;

protected:
  series_base& find_or_add(const std::string_view* values, std::size_t n);
  virtual std::unique_ptr<series_base> make() const = 0;
  virtual void render_series(const series_base& s, std::string& out) const = 0;
  void write_labels(std::string& out, const series_base& s, std::string_view extra_name = {},
                    std::string_view extra_value = {}) const;

private:
  static constexpr std::size_t slots = 4096; // power of two, 2 x max_series
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::unique_ptr<std::atomic<series_base*>[]> table_;
  mutable std::mutex mutex_;                   // inserts and render
  std::vector<std::unique_ptr<series_base>> all_; // insertion order
  series_base* overflow_ = nullptr;
};

} // namespace detail

class counter_family : public detail::family_base {
public:
  using family_base::family_base;
  /// The series for these label values (one per label name, in order).
  counter& with(std::initializer_list<std::string_view> values);
  counter& with(const std::vector<std::string_view>& values);
  const char* type() const noexcept override {
    return "counter";
  }

protected:
  std::unique_ptr<detail::series_base> make() const override;
  void render_series(const detail::series_base& s, std::string& out) const override;
};

class gauge_family : public detail::family_base {
public:
  using family_base::family_base;
  gauge& with(std::initializer_list<std::string_view> values);
  gauge& with(const std::vector<std::string_view>& values);
  const char* type() const noexcept override {
    return "gauge";
  }

protected:
  std::unique_ptr<detail::series_base> make() const override;
  void render_series(const detail::series_base& s, std::string& out) const override;
};

class histogram_family : public detail::family_base {
public:
  histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                   std::vector<double> bounds);
  histogram& with(std::initializer_list<std::string_view> values);
  histogram& with(const std::vector<std::string_view>& values);
  const std::vector<double>& bounds() const noexcept {
    return bounds_;
  }
  const char* type() const noexcept override {
    return "histogram";
  }

protected:
  std::unique_ptr<detail::series_base> make() const override;
  void render_series(const detail::series_base& s, std::string& out) const override;

private:
  std::vector<double> bounds_;
};

/// All metric families of a process. Thread-safe.
///
/// Registering a name again returns the existing family when type, label
/// names (and buckets) agree, and throws std::invalid_argument otherwise, as
/// it does for invalid metric or label names.
class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  counter_family& counters(std::string name, std::string help,
                           std::vector<std::string> labels = {});
  gauge_family& gauges(std::string name, std::string help, std::vector<std::string> labels = {});
  histogram_family& histograms(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds = default_latency_buckets());

  /// Everything, in text format 0.0.4, families sorted by name.
  std::string render() const;

private:
  template <class Family, class... Extra>
  Family& add(std::string name, std::string help, std::vector<std::string> labels,
              Extra&&... extra);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::family_base>> families_;
};

} // namespace millrace::api::http::metrics
