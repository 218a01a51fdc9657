#include "vault/data_keys.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <stdexcept>

#include "crypto/associated_data.h"
#include "crypto/random.h"

namespace pc::vault {
namespace {

constexpr unsigned char kFormat = 0x01;
constexpr std::size_t kHeaderSize = 5;  // format byte + 4-byte version

std::string header_for(int version) {
  const auto v = static_cast<std::uint32_t>(version);
  std::string h(kHeaderSize, '\0');
  h[0] = static_cast<char>(kFormat);
  h[1] = static_cast<char>((v >> 24) & 0xff);
  h[2] = static_cast<char>((v >> 16) & 0xff);
  h[3] = static_cast<char>((v >> 8) & 0xff);
  h[4] = static_cast<char>(v & 0xff);
  return h;
}

// Cache keys: the same length-prefixed encoding as the AADs, so ("a", "bc") and ("ab", "c")
// cannot share an entry.
std::string pair_id(std::string_view tenant_id, std::string_view data_class) {
  std::string out;
  crypto::append_length_prefixed(out, tenant_id);
  crypto::append_length_prefixed(out, data_class);
  return out;
}

std::string key_id(std::string_view tenant_id, std::string_view data_class, int version) {
  std::string out = pair_id(tenant_id, data_class);
  crypto::append_length_prefixed(out, std::to_string(version));
  return out;
}

void check_names(std::string_view tenant_id, std::string_view data_class) {
  if (tenant_id.empty()) throw std::invalid_argument("data keys: the tenant id is empty");
  if (data_class.empty()) throw std::invalid_argument("data keys: the data class is empty");
}

std::string describe(std::string_view tenant_id, std::string_view data_class, int version) {
  return "data key " + std::string(tenant_id) + "/" + std::string(data_class) + " v" + std::to_string(version);
}

// created_at of a data key row ("2026-11-23T13:05:00.123Z") as a time point; nullopt when it
// is not in that form (then the key counts as too old, and is rotated).
std::optional<std::chrono::system_clock::time_point> parse_created(const std::string& text) {
  int y, mo, d, h, mi, sec;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

int newest_of(const std::vector<store::DataKeyRecord>& rows) {
  int n = 0;
  for (const auto& r : rows) n = std::max(n, r.version);
  return n;
}

}  // namespace

struct DataKeys::Key {
  std::array<unsigned char, crypto::kAeadKeySize> bytes{};
  std::string wrapped;  // the store's row it came from, to notice when that row changed
  Key() = default;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

DataKeys::DataKeys(store::Store& store, const crypto::MasterKeyring& keyring)
    : DataKeys(store, keyring, Options{}) {}

DataKeys::DataKeys(store::Store& store, const crypto::MasterKeyring& keyring, Options options)
    : store_(store), keyring_(keyring), options_(options) {}

DataKeys::~DataKeys() {
  // Dropping the last reference to each Key cleanses it; spelled out because that is the point.
  std::lock_guard lock(mu_);
  by_id_.clear();
  lru_.clear();
}

std::optional<int> DataKeys::version_of(std::string_view sealed) {
  if (sealed.size() < kHeaderSize || static_cast<unsigned char>(sealed[0]) != kFormat) return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t i = 1; i < kHeaderSize; ++i) v = (v << 8) | static_cast<unsigned char>(sealed[i]);
  if (v < 1 || v > 0x7fffffffu) return std::nullopt;
  return static_cast<int>(v);
}

std::string DataKeys::seal(std::string_view tenant_id, std::string_view data_class, std::string_view aad_row,
                           std::string_view plaintext) {
  check_names(tenant_id, data_class);
  int version = newest_version(tenant_id, data_class);
  if (version == 0) {
    // First use. If another gateway (or thread) creates version 1 at the same moment, the store
    // keeps one of them; reading back afterwards makes everyone use that one.
    if (create(tenant_id, data_class, 1)) {
      version = 1;
      remember_newest(pair_id(tenant_id, data_class), 1);
    } else {
      version = newest_version(tenant_id, data_class);
    }
    if (version == 0) throw std::runtime_error("data keys: the store lost the " + describe(tenant_id, data_class, 1));
  }
  version = take_seal(tenant_id, data_class, version);
  const KeyPtr k = key(tenant_id, data_class, version);
  const std::string header = header_for(version);
  std::string aad = header;
  aad += aad_row;
  return header + crypto::seal(k->bytes, plaintext, aad);
}

std::string DataKeys::open(std::string_view tenant_id, std::string_view data_class, std::string_view aad_row,
                           std::string_view sealed) {
  check_names(tenant_id, data_class);
  const std::optional<int> version = version_of(sealed);
  if (!version) throw crypto::AeadError("data keys: not a value sealed by a data key (bad header)");
  const KeyPtr k = key(tenant_id, data_class, *version);
  std::string aad(sealed.substr(0, kHeaderSize));
  aad += aad_row;
  try {
    return crypto::open(k->bytes, sealed.substr(kHeaderSize), aad);
  } catch (const crypto::AeadError&) {
    // The cached key may be stale: the tenant was purged and its id reused, so the store now
    // holds a different key under the same version. Look once more (one store read per value
    // that fails to open); if the row is the one we cached, or the fresh look fails too, the
    // value really does not open here, and the caller gets the original error.
    const std::exception_ptr original = std::current_exception();
    KeyPtr fresh;
    try {
      fresh = key(tenant_id, data_class, *version, k.get());
    } catch (const crypto::AeadError&) {
    }
    if (!fresh) std::rethrow_exception(original);
    return crypto::open(fresh->bytes, sealed.substr(kHeaderSize), aad);
  }
}

int DataKeys::rotate(std::string_view tenant_id, std::string_view data_class) {
  check_names(tenant_id, data_class);
  const int next = newest_of(store_.data_keys(tenant_id, data_class)) + 1;
  int newest = next;
  // Lost a race: another gateway added `next` a moment ago. That is a fresh key too, so use it
  // rather than stacking a second rotation on top.
  if (!create(tenant_id, data_class, next)) newest = newest_of(store_.data_keys(tenant_id, data_class));
  remember_newest(pair_id(tenant_id, data_class), newest);
  return newest;
}

DataKeys::KeyPtr DataKeys::key(std::string_view tenant_id, std::string_view data_class, int version,
                               const Key* stale) {
  const std::string id = key_id(tenant_id, data_class, version);
  if (!stale) {
    std::lock_guard lock(mu_);
    if (auto it = by_id_.find(id); it != by_id_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // A miss: read and unwrap outside the lock (blocking), then cache. Two threads missing on the
  // same key both unwrap it; the second remember() simply replaces the first.
  const auto rows = store_.data_keys(tenant_id, data_class);
  if (const int newest = newest_of(rows); newest > 0) remember_newest(pair_id(tenant_id, data_class), newest);
  for (const auto& row : rows) {
    if (row.version != version) continue;
    if (row.tenant_id != tenant_id || row.data_class != data_class)
      throw crypto::AeadError("data keys: the store returned a key of another tenant or class");
    if (stale && row.wrapped == stale->wrapped) return nullptr;
    KeyPtr k = unwrap(row);
    remember(id, k);
    return k;
  }
  throw crypto::AeadError("data keys: no " + describe(tenant_id, data_class, version) +
                          " (a value of another tenant or class, or its key was purged)");
}

int DataKeys::newest_version(std::string_view tenant_id, std::string_view data_class) {
  const std::string pair = pair_id(tenant_id, data_class);
  if (options_.newest_version_ttl.count() > 0) {
    std::lock_guard lock(mu_);
    if (auto it = newest_.find(pair);
        it != newest_.end() && std::chrono::steady_clock::now() - it->second.fetched < options_.newest_version_ttl)
      return it->second.version;
  }
  const int newest = newest_of(store_.data_keys(tenant_id, data_class));
  if (newest > 0) remember_newest(pair, newest);  // "none yet" is not cached: seal() creates it next
  return newest;
}

bool DataKeys::create(std::string_view tenant_id, std::string_view data_class, int version) {
  auto k = std::make_shared<Key>();
  std::string raw = crypto::random_bytes(k->bytes.size());
  std::memcpy(k->bytes.data(), raw.data(), k->bytes.size());
  store::DataKeyRecord row;
  row.tenant_id = std::string(tenant_id);
  row.data_class = std::string(data_class);
  row.version = version;
  try {
    row.wrapped = keyring_.wrap(raw, crypto::data_key_aad(tenant_id, data_class, version));
  } catch (...) {
    OPENSSL_cleanse(raw.data(), raw.size());
    throw;
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  row.master_key_id = keyring_.current_id();
  if (!store_.insert_data_key(row)) return false;
  k->wrapped = std::move(row.wrapped);  // `k` is cleansed as it goes out of scope
  remember(key_id(tenant_id, data_class, version), std::move(k));
  return true;
}

DataKeys::KeyPtr DataKeys::unwrap(const store::DataKeyRecord& row) const {
  std::string raw;
  try {
    raw = keyring_.unwrap(row.master_key_id, row.wrapped, crypto::data_key_aad(row.tenant_id, row.data_class, row.version));
  } catch (const crypto::AeadError& e) {
    throw crypto::AeadError(describe(row.tenant_id, row.data_class, row.version) + " " + e.what());
  }
  auto k = std::make_shared<Key>();
  k->wrapped = row.wrapped;
  const bool ok = raw.size() == k->bytes.size();
  if (ok) std::memcpy(k->bytes.data(), raw.data(), raw.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!ok) throw crypto::AeadError(describe(row.tenant_id, row.data_class, row.version) + " has the wrong size");
  return k;
}

void DataKeys::forget(std::string_view tenant_id) {
  std::string prefix;
  crypto::append_length_prefixed(prefix, tenant_id);
  std::lock_guard lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      by_id_.erase(it->first);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(newest_, [&](const auto& e) { return e.first.compare(0, prefix.size(), prefix) == 0; });
  std::erase_if(budgets_, [&](const auto& e) { return e.first.compare(0, prefix.size(), prefix) == 0; });
}

void DataKeys::remember(const std::string& id, KeyPtr key) {
  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    it->second->second = std::move(key);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(id, std::move(key));
  by_id_[id] = lru_.begin();
  while (lru_.size() > std::max<std::size_t>(options_.cache_capacity, 1)) {
    by_id_.erase(lru_.back().first);
    lru_.pop_back();  // the Key is cleansed once no seal/open in flight still holds it
  }
}

int DataKeys::take_seal(std::string_view tenant_id, std::string_view data_class, int version) {
  const std::string pair = pair_id(tenant_id, data_class);
  {
    std::lock_guard lock(mu_);
    if (auto it = budgets_.find(pair); it != budgets_.end()) {
      Budget& b = it->second;
      if (b.version >= version && b.remaining > 0 && std::chrono::system_clock::now() < b.retire_at) {
        --b.remaining;
        return b.version;
      }
    }
  }
  const auto limit = std::max<std::int64_t>(options_.max_seals_per_key, 1);
  const auto block = std::clamp<std::int64_t>(options_.seal_block, 1, limit);
  // Each round either reserves, or finds the key full or old and moves to the next version
  // (which another node may have created first: then that one is used). A few rounds only lose
  // races; many mean something is wrong.
  for (int round = 0; round < 16; ++round) {
    const auto rows = store_.data_keys(tenant_id, data_class);
    const int newest = newest_of(rows);
    if (newest == 0) throw std::runtime_error("data keys: the store lost the " + describe(tenant_id, data_class, version));
    version = std::max(version, newest);  // never seal under an older key than the newest
    remember_newest(pair, version);
    const store::DataKeyRecord* row = nullptr;
    for (const auto& r : rows)
      if (r.version == version) row = &r;
    const auto created = row ? parse_created(row->created_at) : std::nullopt;
    const auto now = std::chrono::system_clock::now();
    const bool fresh = created && now < *created + options_.max_key_age;
    const std::int64_t want = row ? std::min(block, limit - row->seal_count) : 0;
    if (fresh && want > 0 && store_.reserve_data_key_seals(tenant_id, data_class, version, want, limit)) {
      std::lock_guard lock(mu_);
      Budget& b = budgets_[pair];
      if (b.version == version && now < b.retire_at)
        b.remaining += want - 1;  // another thread of ours reserved too: keep both blocks
      else
        b = Budget{version, want - 1, *created + options_.max_key_age};
      return version;
    }
    if (!fresh || want <= 0) {
      // Full or too old: the next version. Losing the insert to another node is fine, the next
      // round reads and uses its key.
      create(tenant_id, data_class, version + 1);
    }
    // else: another node reserved the last seals between our read and our update; read again.
  }
  throw std::runtime_error("data keys: no seals could be reserved for " + describe(tenant_id, data_class, version));
}

void DataKeys::remember_newest(const std::string& pair, int version) {
  std::lock_guard lock(mu_);
  if (newest_.size() >= std::max<std::size_t>(options_.cache_capacity, 1) && !newest_.count(pair)) newest_.clear();
  // A slower reader may store an older newest version than a rotation just set; seal() then
  // uses the previous (still valid) version until the entry expires. Harmless, and simpler than
  // ordering the readers.
  newest_[pair] = Newest{version, std::chrono::steady_clock::now()};
}

}  // namespace pc::vault
