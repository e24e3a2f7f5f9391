// FaultEnv: a RocksDB Env that fails write-ahead-log writes on demand, the
// way RocksDB's own tests inject faults: a disk that fills up or goes bad
// under the state store. Pass it as state::StateOptions::env.
//
// Only WAL files (*.log) are affected: every checkpoint (DB::Write) appends
// to the WAL, so the next checkpoint after set_failing(true) fails. The Env
// must outlive every StateDb opened on it.
#pragma once

#include <rocksdb/env.h>

#include <atomic>
#include <memory>
#include <string>

namespace recstream::testing {

class FaultEnv final : public rocksdb::EnvWrapper {
 public:
  FaultEnv() : rocksdb::EnvWrapper(rocksdb::Env::Default()) {}
  const char* Name() const override { return "RecstreamFaultEnv"; }

  void set_failing(bool on) { failing_.store(on); }
  // Writes refused so far.
  int failures() const { return failures_.load(); }

  rocksdb::Status NewWritableFile(const std::string& f, std::unique_ptr<rocksdb::WritableFile>* r,
                                  const rocksdb::EnvOptions& o) override {
    return Wrap(f, target()->NewWritableFile(f, r, o), r);
  }
  rocksdb::Status ReopenWritableFile(const std::string& f, std::unique_ptr<rocksdb::WritableFile>* r,
                                     const rocksdb::EnvOptions& o) override {
    return Wrap(f, target()->ReopenWritableFile(f, r, o), r);
  }
  rocksdb::Status ReuseWritableFile(const std::string& f, const std::string& old,
                                    std::unique_ptr<rocksdb::WritableFile>* r, const rocksdb::EnvOptions& o) override {
    return Wrap(f, target()->ReuseWritableFile(f, old, r, o), r);
  }

 private:
  class File final : public rocksdb::WritableFileWrapper {
   public:
    File(std::unique_ptr<rocksdb::WritableFile> f, FaultEnv* env)
        : rocksdb::WritableFileWrapper(f.get()), owned_(std::move(f)), env_(env) {}
    rocksdb::Status Append(const rocksdb::Slice& d) override {
      if (auto s = env_->Check(); !s.ok()) return s;
      return rocksdb::WritableFileWrapper::Append(d);
    }
    rocksdb::Status Append(const rocksdb::Slice& d, const rocksdb::DataVerificationInfo& v) override {
      if (auto s = env_->Check(); !s.ok()) return s;
      return rocksdb::WritableFileWrapper::Append(d, v);
    }
    rocksdb::Status Sync() override {
      if (auto s = env_->Check(); !s.ok()) return s;
      return rocksdb::WritableFileWrapper::Sync();
    }
    rocksdb::Status Fsync() override {
      if (auto s = env_->Check(); !s.ok()) return s;
      return rocksdb::WritableFileWrapper::Fsync();
    }

   private:
    std::unique_ptr<rocksdb::WritableFile> owned_;
    FaultEnv* env_;
  };

  rocksdb::Status Check() {
    if (!failing_.load()) return rocksdb::Status::OK();
    failures_.fetch_add(1);
    return rocksdb::Status::IOError("injected WAL write failure (FaultEnv)");
  }
  rocksdb::Status Wrap(const std::string& f, rocksdb::Status s, std::unique_ptr<rocksdb::WritableFile>* r) {
    if (s.ok() && f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0)
      *r = std::make_unique<File>(std::move(*r), this);
    return s;
  }

  std::atomic<bool> failing_{false};
  std::atomic<int> failures_{0};
};

}  // namespace recstream::testing
