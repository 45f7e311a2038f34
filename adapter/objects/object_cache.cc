#include "adapter/objects/object_cache.h"

#include <algorithm>
#include <utility>

#include "adapter/api/status.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::objects {

namespace {

using NamesToLabels = std::map<std::string, model::LabelSet, std::less<>>;

model::LabelSet ToLabelSet(std::map<std::string, std::string> labels) {
  model::LabelSet out;
  for (auto& [key, value] : labels) {
    out.emplace(key, std::move(value));
  }
  return out;
}

}  // namespace

struct ObjectCache::Store {
  model::ResourceInfo info;
  std::unique_ptr<Watch> watch;  // set once, before the watch starts

  std::mutex mutex;
  bool synced = false;                                             // guarded by mutex
  bool overflow = false;                                           // guarded by mutex
  size_t size = 0;                                                 // guarded by mutex
  std::map<std::string, NamesToLabels, std::less<>> by_namespace;  // guarded by mutex
};

// The names come from API discovery, so each is escaped as the one path segment it must stay.
std::string CollectionPath(const model::ResourceInfo& resource) {
  const auto& gr = resource.group_resource;
  const std::string version = PathEscape(resource.version);
  const std::string plural = PathEscape(gr.resource);
  return gr.group.empty() ? Cat("/api/", version, "/", plural)
                          : Cat("/apis/", PathEscape(gr.group), "/", version, "/", plural);
}

ObjectCache::ObjectCache(std::shared_ptr<const model::ResourceMapper> mapper, WatchFactory factory)
    : mapper_(std::move(mapper)), factory_(std::move(factory)) {}

ObjectCache::~ObjectCache() { Stop(); }

absl::Status ObjectCache::WatchAtStart(const std::vector<Collection>& collections) {
  for (const auto& collection : collections) {
    auto store = StoreFor(collection, /*at_start=*/true);
    if (!store.ok()) {
      return store.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectCache::Store*> ObjectCache::StoreFor(const Collection& collection,
                                                          bool at_start) {
  const model::GroupResource& resource = collection.resource;
  std::lock_guard<std::mutex> lock(mutex_);
  if (const auto it = stores_.find(collection); it != stores_.end()) {
    if (at_start) {
      at_start_.push_back(it->second.get());
    }
    return it->second.get();
  }
  if (stopped_) {
    return absl::UnavailableError("the object cache is shutting down");
  }
  if (stores_.size() >= kMaxWatchedResources) {
    return absl::ResourceExhaustedError(Cat("the object cache watches at most ",
                                            kMaxWatchedResources, " resources; ",
                                            collection.String(), " is not one of them"));
  }
  auto info = mapper_->Normalize(resource.group, resource.resource);
  if (!info.ok()) {
    return info.status();
  }
  auto store = std::make_unique<Store>();
  store->info = *std::move(info);
  Store* raw = store.get();
  kube::ListWatchOptions options;
  options.collection_path = CollectionPath(raw->info);
  options.field_selector = collection.field_selector;
  options.metadata_only = true;
  kube::ListWatchHandlers handlers;
  handlers.replace = [raw](std::vector<kube::KubeObject> objects) {
    Replace(*raw, std::move(objects));
  };
  handlers.event = [raw](kube::WatchEventType type, kube::KubeObject object) {
    Apply(*raw, type, std::move(object));
  };
  handlers.error = [name = collection.String()](const absl::Status& status) {
    MA_LOG(WARNING) << "listing or watching " << name
                    << " failed; the watch retries after a backoff: " << status;
  };
  raw->watch = factory_(std::move(options), std::move(handlers));
  if (raw->watch == nullptr) {
    return absl::InternalError(Cat("no watch could be made for ", collection.String()));
  }
  stores_.emplace(collection, std::move(store));
  if (at_start) {
    at_start_.push_back(raw);
  }
  MA_LOG(INFO) << "watching the metadata of " << collection.String() << " ("
               << CollectionPath(raw->info) << ")";
  raw->watch->Start();
  return raw;
}

void ObjectCache::Replace(Store& store, std::vector<kube::KubeObject> objects) {
  std::map<std::string, NamesToLabels, std::less<>> by_namespace;
  const bool overflow = objects.size() > kMaxObjectsPerResource;
  if (overflow) {
    MA_LOG(ERROR) << "the cluster holds " << objects.size() << " "
                  << store.info.group_resource.String() << ", more than the "
                  << kMaxObjectsPerResource
                  << " the object cache keeps; `*` requests for them fail";
  } else {
    for (auto& object : objects) {
      by_namespace[object.metadata.namespace_name][object.metadata.name] =
          ToLabelSet(std::move(object.metadata.labels));
    }
  }
  std::lock_guard<std::mutex> lock(store.mutex);
  store.by_namespace.swap(by_namespace);
  store.size = overflow ? 0 : objects.size();
  store.overflow = overflow;
  store.synced = true;
  // `lock` is released before `by_namespace`, now the old maps, is freed: readers never wait
  // for a large free.
}

void ObjectCache::Apply(Store& store, kube::WatchEventType type, kube::KubeObject object) {
  auto& meta = object.metadata;
  std::lock_guard<std::mutex> lock(store.mutex);
  if (store.overflow) {
    return;  // until a LIST fits again
  }
  if (type == kube::WatchEventType::kDeleted) {
    const auto ns = store.by_namespace.find(meta.namespace_name);
    if (ns != store.by_namespace.end() && ns->second.erase(meta.name) > 0) {
      --store.size;
      if (ns->second.empty()) {
        store.by_namespace.erase(ns);
      }
    }
    return;
  }
  auto& names = store.by_namespace[meta.namespace_name];
  const auto it = names.find(meta.name);
  if (it != names.end()) {
    it->second = ToLabelSet(std::move(meta.labels));
    return;
  }
  if (store.size >= kMaxObjectsPerResource) {
    MA_LOG(ERROR) << "more than " << kMaxObjectsPerResource << " "
                  << store.info.group_resource.String()
                  << " in the object cache; `*` requests for them fail until a LIST fits again";
    store.overflow = true;
    store.by_namespace.clear();
    store.size = 0;
    return;
  }
  names.emplace(meta.name, ToLabelSet(std::move(meta.labels)));
  ++store.size;
}

absl::Status ObjectCache::Readable(const Store& store, const Collection& collection) {
  if (!store.synced) {
    const auto message = Cat("the adapter has not listed ", collection.String(),
                             " from the Kubernetes API yet; retry shortly");
    return api::WithPublicMessage(absl::UnavailableError(message), message);
  }
  if (store.overflow) {
    return api::WithPublicMessage(
        absl::UnavailableError(Cat("more than ", kMaxObjectsPerResource, " ", collection.String(),
                                   " in the object cache")),
        Cat("the cluster holds too many ", collection.resource.String(),
            " for the adapter's object cache; the adapter's log has the details"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ObjectCache::Names(
    const model::GroupResource& resource, std::string_view namespace_name,
    const selector::LabelSelector& selector) {
  auto found = StoreFor(resource, /*at_start=*/false);
  if (!found.ok()) {
    return api::WithPublicMessage(found.status(), Cat("the adapter cannot list ", resource.String(),
                                                      "; the adapter's log has the details"));
  }
  Store& store = **found;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(store.mutex);
    if (auto readable = Readable(store, resource); !readable.ok()) {
      return readable;
    }
    const auto collect = [&](const NamesToLabels& objects) {
      for (const auto& [name, labels] : objects) {
        if (selector.Matches(labels)) {
          names.push_back(name);
        }
      }
    };
    if (namespace_name.empty()) {
      for (const auto& [ns, objects] : store.by_namespace) {
        collect(objects);
      }
    } else if (const auto it = store.by_namespace.find(namespace_name);
               it != store.by_namespace.end()) {
      collect(it->second);
    }
  }
  if (namespace_name.empty()) {
    // The same name may exist in several namespaces.
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  return names;
}

absl::StatusOr<std::vector<ListedObject>> ObjectCache::Objects(
    const Collection& collection, std::string_view namespace_name,
    const selector::LabelSelector& selector) {
  auto found = StoreFor(collection, /*at_start=*/false);
  if (!found.ok()) {
    return api::WithPublicMessage(found.status(),
                                  Cat("the adapter cannot list ", collection.resource.String(),
                                      "; the adapter's log has the details"));
  }
  Store& store = **found;
  std::vector<ListedObject> objects;
  std::lock_guard<std::mutex> lock(store.mutex);
  if (auto readable = Readable(store, collection); !readable.ok()) {
    return readable;
  }
  const auto collect = [&](const std::string& ns, const NamesToLabels& named) {
    for (const auto& [name, labels] : named) {
      if (selector.Matches(labels)) {
        objects.push_back({ns, name, labels});
      }
    }
  };
  if (namespace_name.empty()) {
    for (const auto& [ns, named] : store.by_namespace) {
      collect(ns, named);
    }
  } else if (const auto it = store.by_namespace.find(namespace_name);
             it != store.by_namespace.end()) {
    collect(it->first, it->second);
  }
  return objects;
}

bool ObjectCache::synced() const {
  if (synced_latch_.load()) {
    return true;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (Store* store : at_start_) {
    std::lock_guard<std::mutex> store_lock(store->mutex);
    if (!store->synced) {
      return false;
    }
  }
  synced_latch_.store(true);
  return true;
}

void ObjectCache::Stop() {
  std::vector<Watch*> watches;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    for (auto& [resource, store] : stores_) {
      watches.push_back(store->watch.get());
    }
  }
  for (Watch* watch : watches) {
    watch->Stop();
  }
}

size_t ObjectCache::watched() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stores_.size();
}

std::vector<ObjectCache::CollectionSize> ObjectCache::Sizes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CollectionSize> sizes;
  for (const auto& [collection, store] : stores_) {
    std::lock_guard<std::mutex> store_lock(store->mutex);
    sizes.push_back({collection, store->size});
  }
  return sizes;
}

}  // namespace ma::objects
