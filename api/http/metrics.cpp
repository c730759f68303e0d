#include "api/http/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cctype>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "api/http/utf8.hpp"

namespace millrace::api::http::metrics {

namespace {

void add_double(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed))
    ; // retry with the fresh value
}

void put_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void put_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
}

bool valid_metric_name(std::string_view s) {
  auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
  auto next = [&](char c) { return first(c) || std::isdigit(static_cast<unsigned char>(c)); };
  return !s.empty() && first(s[0]) && std::all_of(s.begin() + 1, s.end(), next);
}

bool valid_label_name(std::string_view s) {
  auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto next = [&](char c) { return first(c) || std::isdigit(static_cast<unsigned char>(c)); };
  return !s.empty() && first(s[0]) && std::all_of(s.begin() + 1, s.end(), next)
         && s.substr(0, 2) != "__";
}

uint64_t hash_values(const std::string_view* v, std::size_t n) noexcept {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (std::size_t i = 0; i < n; ++i) {
    for (char c : v[i]) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

bool same_values(const detail::series_base& s, const std::string_view* v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (s.values[i] != v[i])
      return false;
  return true;
}

template <class M, class... Args>
struct series : detail::series_base {
  explicit series(Args&&... args) : metric(std::forward<Args>(args)...) {
    // nop
  }
  M metric;
};

} // namespace

// -- metric types -------------------------------------------------------------

void gauge::inc(double d) noexcept {
  add_double(v_, d);
}

histogram::histogram(const std::vector<double>& bounds)
  : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  std::size_t i = bounds_.size(); // +Inf, also for NaN
  if (!std::isnan(v))
    i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v)
                                 - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  add_double(sum_, v);
}

std::vector<uint64_t> histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    out[i] = total += counts_[i].load(std::memory_order_relaxed);
  return out;
}

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

// -- family_base --------------------------------------------------------------

namespace detail {

family_base::family_base(std::string name, std::string help, std::vector<std::string> labels)
  : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)),
    table_(std::make_unique<std::atomic<series_base*>[]>(slots)) {
  if (!valid_metric_name(name_))
    throw std::invalid_argument("bad metric name \"" + name_ + "\"");
  for (auto& l : labels_)
    if (!valid_label_name(l) || l == "le")
      throw std::invalid_argument("bad label name \"" + l + "\" in " + name_);
  for (std::size_t i = 0; i < slots; ++i)
    table_[i].store(nullptr, std::memory_order_relaxed);
}

family_base::~family_base() = default;

series_base& family_base::find_or_add(const std::string_view* values, std::size_t n) {
  if (n != labels_.size())
    throw std::invalid_argument(name_ + ": expected " + std::to_string(labels_.size())
                                + " label values, got " + std::to_string(n));
  auto h = hash_values(values, n);
  auto probe = [&]() -> std::pair<series_base*, std::size_t> {
    for (std::size_t i = h & (slots - 1);; i = (i + 1) & (slots - 1)) {
      auto* s = table_[i].load(std::memory_order_acquire);
      if (s == nullptr)
        return {nullptr, i};
      if (s->hash == h && same_values(*s, values, n))
        return {s, i};
    }
  };
  if (auto [s, slot] = probe(); s != nullptr)
    return *s;
  std::lock_guard<std::mutex> guard{mutex_};
  auto [s, slot] = probe(); // again: another thread may have added it
  if (s != nullptr)
    return *s;
  if (all_.size() >= max_series) {
    if (overflow_ == nullptr) {
      auto o = make();
      o->values.assign(n, "overflow");
      overflow_ = o.get();
      all_.push_back(std::move(o));
    }
    return *overflow_;
  }
  auto fresh = make();
  fresh->values.assign(values, values + n);
  fresh->hash = h;
  auto* raw = fresh.get();
  all_.push_back(std::move(fresh));
  table_[slot].store(raw, std::memory_order_release);
  return *raw;
}

void family_base::write_labels(std::string& out, const series_base& s, std::string_view extra_name,
                               std::string_view extra_value) const {
  if (labels_.empty() && extra_name.empty())
    return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    out += first ? "" : ",";
    first = false;
    out += labels_[i];
    out += "=\"";
    put_escaped(out, valid_utf8(s.values[i]) ? s.values[i] : sanitize_utf8(s.values[i]), true);
    out += '"';
  }
  if (!extra_name.empty()) {
    out += first ? "" : ",";
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void family_base::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  put_escaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type();
  out += '\n';
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& s : all_)
    render_series(*s, out);
}

} // namespace detail

// -- families -----------------------------------------------------------------

#define MILLRACE_FAMILY_WITH(F, M)                                                                 \
  M& F::with(std::initializer_list<std::string_view> v) {                                         \
    return static_cast<series<M>&>(find_or_add(v.begin(), v.size())).metric;                      \
  }                                                                                                \
  M& F::with(const std::vector<std::string_view>& v) {                                            \
    return static_cast<series<M>&>(find_or_add(v.data(), v.size())).metric;                       \
  }

MILLRACE_FAMILY_WITH(counter_family, counter)
MILLRACE_FAMILY_WITH(gauge_family, gauge)

histogram& histogram_family::with(std::initializer_list<std::string_view> v) {
  return static_cast<series<histogram, const std::vector<double>&>&>(
           find_or_add(v.begin(), v.size()))
    .metric;
}
histogram& histogram_family::with(const std::vector<std::string_view>& v) {
  return static_cast<series<histogram, const std::vector<double>&>&>(
           find_or_add(v.data(), v.size()))
    .metric;
}

#undef MILLRACE_FAMILY_WITH

std::unique_ptr<detail::series_base> counter_family::make() const {
  return std::make_unique<series<counter>>();
}

void counter_family::render_series(const detail::series_base& s, std::string& out) const {
  out += name();
  write_labels(out, s);
  out += ' ';
  put_uint(out, static_cast<const series<counter>&>(s).metric.value());
  out += '\n';
}

std::unique_ptr<detail::series_base> gauge_family::make() const {
  return std::make_unique<series<gauge>>();
}

void gauge_family::render_series(const detail::series_base& s, std::string& out) const {
  out += name();
  write_labels(out, s);
  out += ' ';
  put_double(out, static_cast<const series<gauge>&>(s).metric.value());
  out += '\n';
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> labels, std::vector<double> bounds)
  : family_base(std::move(name), std::move(help), std::move(labels)), bounds_(std::move(bounds)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end())
      || std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()
      || std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); }))
    throw std::invalid_argument(this->name() + ": buckets must be finite and strictly ascending");
}

std::unique_ptr<detail::series_base> histogram_family::make() const {
  return std::make_unique<series<histogram, const std::vector<double>&>>(bounds_);
}

void histogram_family::render_series(const detail::series_base& s, std::string& out) const {
  auto& h = static_cast<const series<histogram, const std::vector<double>&>&>(s).metric;
  auto counts = h.cumulative();
  std::string le;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    le.clear();
    if (i < bounds_.size())
      put_double(le, bounds_[i]);
    else
      le = "+Inf";
    out += name();
    out += "_bucket";
    write_labels(out, s, "le", le);
    out += ' ';
    put_uint(out, counts[i]);
    out += '\n';
  }
  out += name();
  out += "_sum";
  write_labels(out, s);
  out += ' ';
  put_double(out, h.sum());
  out += '\n';
  out += name();
  out += "_count";
  write_labels(out, s);
  out += ' ';
  put_uint(out, counts.back());
  out += '\n';
}

// -- registry -----------------------------------------------------------------

registry::registry() = default;
registry::~registry() = default;

template <class Family, class... Extra>
Family& registry::add(std::string name, std::string help, std::vector<std::string> labels,
                      Extra&&... extra) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* f = dynamic_cast<Family*>(it->second.get());
    if (f == nullptr || f->label_names() != labels)
      throw std::invalid_argument("metric " + name + " registered again with another type or labels");
    if constexpr (std::is_same_v<Family, histogram_family>)
      if (f->bounds() != std::get<0>(std::forward_as_tuple(extra...)))
        throw std::invalid_argument("metric " + name + " registered again with other buckets");
    return *f;
  }
  auto f = std::make_unique<Family>(name, std::move(help), std::move(labels),
                                    std::forward<Extra>(extra)...);
  auto& ref = *f;
  families_.emplace(std::move(name), std::move(f));
  return ref;
}

counter_family& registry::counters(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  return add<counter_family>(std::move(name), std::move(help), std::move(labels));
}

gauge_family& registry::gauges(std::string name, std::string help,
                               std::vector<std::string> labels) {
  return add<gauge_family>(std::move(name), std::move(help), std::move(labels));
}

histogram_family& registry::histograms(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  return add<histogram_family>(std::move(name), std::move(help), std::move(labels),
                               std::move(bounds));
}

std::string registry::render() const {
  std::string out;
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& [name, f] : families_)
    f->render(out);
  return out;
}

} // namespace millrace::api::http::metrics
