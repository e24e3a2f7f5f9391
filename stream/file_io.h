// File source and sink: the same pipeline over files instead of Kafka
// (replay and evaluation).
//
// FileSource reads JSON Lines in the input schema, CSV with a header using
// the schema's field names, or Taobao UserBehavior.csv (no header:
// user_id,item_id,category_id,behavior,ts_seconds). CSV rows are converted to
// the JSON of the input schema, so every format runs through the same parse
// operator; Record::original keeps the row as read. Records are numbered by
// file line (1-based, header included): topic "file", partition 0.
//
// FileSink writes the recommendations topic as JSON Lines (a tombstone as
// {"user_id":...,"tombstone":true}) and the dead-letter topic as JSON Lines
// with reason, detail, source position and the original bytes in base64.
//
// Concurrency: single thread.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "stream/record.h"

namespace recstream::stream {

// kMovieLens: GroupLens ratings.csv (userId,movieId,rating,timestamp) with
// movies.csv beside it; the first genre is the category, ratings map to event
// types (>= 4: purchase, >= 3: click, else view), rows are replayed in time
// order (the file is sorted by user); offsets number rows in that order.
enum class FileFormat { kAuto, kJsonLines, kCsv, kTaobao, kMovieLens };
// Parses "auto", "jsonl", "csv", "taobao", "movielens".
bool ParseFileFormat(std::string_view name, FileFormat* out);

class FileSource final : public RecordSource {
 public:
  // Opens path ("-" = stdin). kAuto picks by extension and first line.
  static Status Open(const std::string& path, FileFormat format, std::unique_ptr<FileSource>* out);
  ~FileSource() override;

  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) override;
  Status Commit(const std::vector<TopicPartitionOffset>&) override { return Status::OK(); }
  bool exhausted() const override { return eof_; }
  // Skips to the record after `next_offset - 1` (resume after a checkpoint).
  void SeekTo(int64_t next_offset) { skip_until_ = next_offset; }
  FileFormat format() const { return format_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  FileSource() = default;
  bool ReadLine(std::string& line);
  void ConvertCsv(const std::string& line, std::string& json);

  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  Status LoadMovieLens(const std::string& path);

  FileFormat format_ = FileFormat::kJsonLines;
  // MovieLens: every row converted up front, in time order.
  struct Row {
    int64_t ts;
    int64_t line;
    std::string json, original;
  };
  std::vector<Row> rows_;
  size_t next_row_ = 0;
  std::vector<std::string> header_;
  std::string pending_first_line_;
  bool has_pending_first_ = false;
  int64_t line_no_ = 0;
  int64_t skip_until_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
  // Storage behind the views of the last Poll.
  std::vector<std::string> lines_, converted_;
  std::vector<std::string_view> fields_;
};

class FileSink final : public RecordSink {
 public:
  // output: recommendations as JSON Lines ("-" = stdout); dead_letters: path
  // for rejected records. Both truncated.
  static Status Open(const std::string& output, const std::string& dead_letters, std::string output_topic,
                     std::string dead_letter_topic, std::unique_ptr<FileSink>* out);
  ~FileSink() override;

  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const Header> headers = {}) override;
  Status AwaitDelivery(std::chrono::milliseconds timeout) override;
  uint64_t outputs() const { return outputs_; }
  uint64_t dead_letters() const { return dead_letters_; }

 private:
  FileSink() = default;
  std::FILE* out_ = nullptr;
  std::FILE* dlq_ = nullptr;
  bool owns_out_ = false;
  std::string output_topic_, dead_letter_topic_;
  std::string line_;
  uint64_t outputs_ = 0, dead_letters_ = 0;
  bool failed_ = false;
};

}  // namespace recstream::stream
