#include <chrono>

#include "fake_state.hpp"
#include "recs/core/crypto.hpp"

namespace recs::store {

namespace fake {

void ThrowBadValue() {
    throw core::Error(core::ErrorCode::kUnprocessable, "a value is not valid for its field");
}

void ThrowUnique() {
    throw core::Error(core::ErrorCode::kConflict,
                      "a resource with the same unique value already exists");
}

void ThrowForeignKey() {
    throw core::Error(core::ErrorCode::kNotFound,
                      "a resource this request refers to no longer exists");
}

std::string UuidParam(std::string_view s) {
    // PostgreSQL's uuid_in: optional braces, 32 hex digits, a hyphen allowed after any group of
    // four digits.
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = s.substr(1, s.size() - 2);
    std::string hex;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '-') {
            if (hex.empty() || hex.size() % 4 != 0 || i + 1 == s.size() || s[i + 1] == '-')
                ThrowBadValue();
            continue;
        }
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) ThrowBadValue();
        hex.push_back(c);
    }
    if (hex.size() != 32) ThrowBadValue();
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string Lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string Ts(int64_t us) {
    int64_t ms = us >= 0 ? us / 1000 : (us - 999) / 1000;
    return core::FormatIso8601Ms(ms);
}

}  // namespace fake

int64_t FakeDatabase::State::NowUs() {
    std::lock_guard lock(clock_mu);
    int64_t base = base_ms ? base_ms() * 1000
                           : std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    int64_t t = base + offset_us;
    if (t <= last_us) t = last_us + 1;
    last_us = t;
    return t;
}

void FakeDatabase::State::Enter(std::string_view op) {
    std::function<void(std::string_view)> h;
    {
        std::lock_guard lock(hook_mu);
        h = hook;
    }
    if (h) h(op);
}

const fake::TenantRow* FakeDatabase::State::TenantById(const std::string& id) {
    return tenants.Find(id);
}

void FakeDatabase::State::RequireTenant(const std::string& id) {
    if (!tenants.Find(id)) fake::ThrowForeignKey();
}

void FakeDatabase::State::CascadeModel(const std::string& model_id) {
    versions.EraseIf([&](const fake::VersionRow& r) { return r.v.model_id == model_id; });
    for (auto it = deployments.begin(); it != deployments.end();)
        it = it->second.model_id == model_id ? deployments.erase(it) : std::next(it);
}

core::ModelDef FakeDatabase::State::WithDeployment(const core::ModelDef& m) {
    core::ModelDef out = m;
    out.deployed_version.reset();
    out.deployed_version_id.reset();
    out.deployed_pool = "default";
    for (auto it = deployments.rbegin(); it != deployments.rend(); ++it) {
        if (it->second.model_id != m.id) continue;
        if (auto* v = versions.Find(it->second.version_id)) {
            out.deployed_version = v->v.version;
            out.deployed_version_id = v->v.id;
            out.deployed_pool = it->second.pool;
            break;
        }
    }
    return out;
}

FakeDatabase::FakeDatabase() : state_(std::make_unique<State>()) {}
FakeDatabase::~FakeDatabase() = default;

void FakeDatabase::SetClock(std::function<int64_t()> now_ms) {
    std::lock_guard lock(state_->clock_mu);
    state_->base_ms = std::move(now_ms);
}

void FakeDatabase::Advance(int64_t ms) {
    std::lock_guard lock(state_->clock_mu);
    state_->offset_us += ms * 1000;
}

int64_t FakeDatabase::NowMs() { return state_->NowUs() / 1000; }

void FakeDatabase::SetFailureHook(std::function<void(std::string_view op)> hook) {
    std::lock_guard lock(state_->hook_mu);
    state_->hook = std::move(hook);
}

void FakeDatabase::Clear() {
    {
        std::lock_guard lock(state_->mu);
        auto& s = *state_;
        s.tenants.Clear();
        s.keys.Clear();
        s.settings.clear();
        s.idempotency.clear();
        s.events.clear();
        s.outbox.clear();
        s.features.clear();
        s.models.Clear();
        s.versions.Clear();
        s.deployments.clear();
        s.jobs.Clear();
    }
    std::lock_guard lock(state_->redis_mu);
    state_->ready.clear();
    state_->ready_score.clear();
    state_->streams.clear();
}

std::vector<core::Event> FakeDatabase::StreamEntries(const core::TenantId& tenant) {
    std::lock_guard lock(state_->redis_mu);
    auto it = state_->streams.find(tenant.value);
    return it == state_->streams.end() ? std::vector<core::Event>{} : it->second;
}

FakeStores MakeFakeStores(std::shared_ptr<FakeDatabase> db) {
    if (!db) db = std::make_shared<FakeDatabase>();
    FakeStores s;
    s.db = db;
    s.tenants = MakeFakeTenantRepository(db);
    s.keys = MakeFakeKeyRepository(db);
    s.settings = MakeFakeSettingsRepository(db);
    s.idempotency = MakeFakeIdempotencyRepository(db);
    s.events = MakeFakeEventRepository(db);
    s.features = MakeFakeFeatureRepository(db);
    s.models = MakeFakeModelRepository(db);
    s.jobs = MakeFakeJobRepository(db);
    s.queue = MakeFakeJobQueue(db);
    s.streams = MakeFakeEventStream(db);
    return s;
}

}  // namespace recs::store
