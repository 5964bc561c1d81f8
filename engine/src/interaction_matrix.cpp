#include "recs/engine/interaction_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace recs::engine {

uint32_t IdIndex::Add(const std::string& id) {
    auto it = index_.find(std::string_view(id));
    if (it != index_.end()) {
        return it->second;
    }
    auto idx = static_cast<uint32_t>(ids_.size());
    ids_.push_back(id);
    index_.emplace(id, idx);
    return idx;
}

int64_t IdIndex::Find(std::string_view id) const {
    auto it = index_.find(id);
    return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
}

bool IdIndex::Assign(std::vector<std::string> ids) {
    ids_ = std::move(ids);
    index_.clear();
    index_.reserve(ids_.size());
    for (uint32_t i = 0; i < ids_.size(); ++i) {
        if (!index_.emplace(ids_[i], i).second) {
            ids_.clear();
            index_.clear();
            return false;
        }
    }
    return true;
}

Csr Csr::Transposed() const {
    Csr t;
    t.rows = cols;
    t.cols = rows;
    t.offsets.assign(static_cast<size_t>(cols) + 1, 0);
    for (uint32_t c : indices) {
        ++t.offsets[c + 1];
    }
    for (uint32_t c = 0; c < cols; ++c) {
        t.offsets[c + 1] += t.offsets[c];
    }
    t.indices.resize(nnz());
    t.values.resize(nnz());
    std::vector<uint64_t> pos(t.offsets.begin(), t.offsets.end() - 1);
    for (uint32_t r = 0; r < rows; ++r) {
        for (uint64_t p = offsets[r]; p < offsets[r + 1]; ++p) {
            uint64_t q = pos[indices[p]]++;
            t.indices[q] = r;
            t.values[q] = values[p];
        }
    }
    return t;
}

bool Csr::Valid() const {
    if (offsets.size() != static_cast<size_t>(rows) + 1 || offsets.front() != 0 ||
        offsets.back() != indices.size() || values.size() != indices.size()) {
        return false;
    }
    // Offsets first (monotonic, hence bounded by back()), then the entries they delimit.
    for (uint32_t r = 0; r < rows; ++r) {
        if (offsets[r] > offsets[r + 1]) {
            return false;
        }
    }
    for (uint32_t r = 0; r < rows; ++r) {
        for (uint64_t p = offsets[r]; p < offsets[r + 1]; ++p) {
            if (indices[p] >= cols || (p > offsets[r] && indices[p] <= indices[p - 1]) ||
                !std::isfinite(values[p])) {
                return false;
            }
        }
    }
    return true;
}

InteractionMatrix InteractionMatrix::Build(const std::vector<Interaction>& data,
                                           const MatrixOptions& options) {
    InteractionMatrix m;
    for (const auto& x : data) {
        m.max_timestamp = std::max(m.max_timestamp, x.timestamp);
    }
    const int64_t ref = options.reference_time != 0 ? options.reference_time : m.max_timestamp;
    struct Entry {
        uint32_t user;
        uint32_t item;
        float weight;
        int64_t time;
    };
    std::vector<Entry> entries;
    entries.reserve(data.size());
    for (const auto& x : data) {
        float w = x.weight;
        if (!options.event_weights.empty() || options.default_event_weight != 1.f) {
            auto it = options.event_weights.find(x.event_type);
            w *= it == options.event_weights.end() ? options.default_event_weight : it->second;
        }
        if (options.half_life_seconds > 0) {
            double age = std::max<double>(0, static_cast<double>(ref - x.timestamp));
            w *= static_cast<float>(std::exp2(-age / options.half_life_seconds));
        }
        if (!(w > 0.f) || !std::isfinite(w)) {
            continue;
        }
        entries.push_back({m.users.Add(x.user), m.items.Add(x.item), w, x.timestamp});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.user != b.user ? a.user < b.user : a.item < b.item;
    });
    Csr& c = m.by_user;
    c.rows = static_cast<uint32_t>(m.users.size());
    c.cols = static_cast<uint32_t>(m.items.size());
    c.offsets.assign(static_cast<size_t>(c.rows) + 1, 0);
    for (size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        if (i > 0 && entries[i - 1].user == e.user && entries[i - 1].item == e.item) {
            c.values.back() += e.weight;
            m.times.back() = std::max(m.times.back(), e.time);
            continue;
        }
        c.indices.push_back(e.item);
        c.values.push_back(e.weight);
        m.times.push_back(e.time);
        ++c.offsets[e.user + 1];
    }
    for (uint32_t r = 0; r < c.rows; ++r) {
        c.offsets[r + 1] += c.offsets[r];
    }
    if (options.binary) {
        std::fill(c.values.begin(), c.values.end(), 1.f);
    }
    m.by_item = c.Transposed();
    return m;
}

}  // namespace recs::engine
