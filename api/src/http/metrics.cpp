#include "http/metrics.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace recs::api {
namespace {

std::string Label(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

void ProcessMemory(std::ostringstream& os) {
    std::ifstream f("/proc/self/statm");
    long pages_total = 0, pages_rss = 0;
    if (f >> pages_total >> pages_rss) {
        long page = sysconf(_SC_PAGESIZE);
        os << "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
           << "# TYPE process_resident_memory_bytes gauge\n"
           << "process_resident_memory_bytes " << pages_rss * page << "\n"
           << "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
           << "# TYPE process_virtual_memory_bytes gauge\n"
           << "process_virtual_memory_bytes " << pages_total * page << "\n";
    }
}

}  // namespace

void Metrics::Observe(const std::string& method,
                      const std::string& route,
                      int status,
                      double seconds) {
    std::lock_guard lock(mu_);
    ++counts_[{method, route, status}];
    auto& h = latency_[{method, route}];
    ++h.count;
    h.sum += seconds;
    for (size_t i = 0; i < kBuckets.size(); ++i)
        if (seconds <= kBuckets[i]) ++h.buckets[i];
}

void Metrics::RateLimitDecision(const std::string& outcome) {
    std::lock_guard lock(mu_);
    ++rate_limit_[outcome];
}

std::string Metrics::Render() const {
    std::ostringstream os;
    std::lock_guard lock(mu_);
    os << "# HELP recs_http_requests_total HTTP requests by method, route and status.\n"
       << "# TYPE recs_http_requests_total counter\n";
    for (const auto& [k, v] : counts_) {
        os << "recs_http_requests_total{method=\"" << std::get<0>(k) << "\",route=\""
           << Label(std::get<1>(k)) << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
    }
    os << "# HELP recs_http_request_duration_seconds HTTP request latency by method and route.\n"
       << "# TYPE recs_http_request_duration_seconds histogram\n";
    for (const auto& [k, h] : latency_) {
        std::string labels = "method=\"" + k.first + "\",route=\"" + Label(k.second) + "\"";
        for (size_t i = 0; i < kBuckets.size(); ++i)
            os << "recs_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i]
               << "\"} " << h.buckets[i] << "\n";
        os << "recs_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count
           << "\n";
        os << "recs_http_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
        os << "recs_http_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
    }
    os << "# HELP recs_rate_limit_decisions_total Rate-limit checks by outcome (failed_open and "
          "failed_closed: Redis did not answer).\n"
       << "# TYPE recs_rate_limit_decisions_total counter\n";
    for (const auto& [k, v] : rate_limit_)
        os << "recs_rate_limit_decisions_total{outcome=\"" << k << "\"} " << v << "\n";
    ProcessMemory(os);
    return os.str();
}

}  // namespace recs::api
