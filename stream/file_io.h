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
// Lines are read as bytes (a NUL is a byte like any other; the parser
// rejects it). A UTF-8 byte-order mark at the start of the file is dropped.
// A line longer than max_line_bytes keeps that many bytes and goes on as
// one record whose whole_size says how long it was (the parser rejects it
// as oversized): memory stays bounded whatever the input, and a line with
// no end (/dev/zero) yields to the caller every few MiB instead of reading
// forever.
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

// Reads lines from a FILE with its own buffer (fgets cannot see past a NUL).
class LineReader {
 public:
  enum class Result { kLine, kEof, kPending };
  LineReader(std::FILE* file, size_t max_line_bytes);
  // kLine: *line holds the next line (without its end of line, cut to
  // max_line_bytes; whole_size/whole_fnv1a64 nonzero when cut). kPending:
  // inside a line that has not ended after a few MiB, or a read interrupted
  // by a signal; call again. kEof: no more lines (or a read error: see
  // error()). Reads the file's descriptor directly: nothing else may read
  // the FILE.
  Result Next(std::string* line, uint64_t* whole_size, uint64_t* whole_fnv1a64);
  bool error() const { return error_; }
  uint64_t bytes_read() const { return bytes_read_; }
  // The file's first bytes (up to 64 KiB), buffered at the first Next.
  std::string_view head() const { return head_; }
  bool at_start() const { return bytes_read_ == 0; }
  // Reads the head without consuming it.
  void Prime();

 private:
  enum class Fill { kData, kInterrupted, kEof };
  Fill Read(char* into, size_t n, size_t* got);
  std::FILE* file_;
  size_t max_line_bytes_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false, error_ = false, primed_ = false;
  uint64_t bytes_read_ = 0;
  std::string head_;
  // The line in progress across kPending returns.
  std::string partial_;
  uint64_t partial_size_ = 0, partial_hash_ = 0;
};

class FileSource final : public RecordSource {
 public:
  static constexpr size_t kDefaultMaxLineBytes = 1 << 20;
  // Opens path ("-" = stdin). kAuto picks by extension and first line.
  // max_line_bytes: see above; at least input.max_message_bytes.
  static Status Open(const std::string& path, FileFormat format, std::unique_ptr<FileSource>* out,
                     size_t max_line_bytes = kDefaultMaxLineBytes);
  ~FileSource() override;

  Status Poll(size_t max, std::chrono::milliseconds timeout, std::vector<Record>& out) override;
  Status Commit(const std::vector<TopicPartitionOffset>&) override { return Status::OK(); }
  bool exhausted() const override { return eof_; }
  // Skips to the record after `next_offset - 1` (resume after a checkpoint).
  void SeekTo(int64_t next_offset) { skip_until_ = next_offset; }
  FileFormat format() const { return format_; }
  uint64_t bytes_read() const { return reader_ ? reader_->bytes_read() : 0; }
  // The input's first bytes (up to 64 KiB): what identifies it on resume.
  std::string_view head() const { return reader_ ? reader_->head() : std::string_view(); }

 private:
  FileSource() = default;
  // The next line; false at the end (or kPending: *pending set).
  bool ReadLine(std::string& line, bool* pending = nullptr);
  void ConvertCsv(const std::string& line, std::string& json);

  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::unique_ptr<LineReader> reader_;
  size_t max_line_bytes_ = kDefaultMaxLineBytes;
  uint64_t whole_size_ = 0, whole_fnv1a64_ = 0;  // of the last line read
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
  int64_t line_no_ = 0;
  int64_t skip_until_ = 0;
  bool eof_ = false;
  // Storage behind the views of the last Poll.
  std::vector<std::string> lines_, converted_;
  std::vector<std::string_view> fields_;
};

// The positions a FileSink reports with each checkpoint (bytes of each
// regular output file), as pseudo-partitions 0 of these topics.
inline constexpr std::string_view kFileOutputPosition = "recstream.file.output";
inline constexpr std::string_view kFileDeadLetterPosition = "recstream.file.dead_letters";

class FileSink final : public RecordSink {
 public:
  // The positions of the last checkpoint (kNoStoredOffset: none) when the
  // sink resumes a run.
  struct Resume {
    int64_t output_bytes = kNoStoredOffset;
    int64_t dead_letter_bytes = kNoStoredOffset;
  };
  // output: recommendations as JSON Lines ("-" = stdout); dead_letters: path
  // for rejected records. Without resume both are truncated. With it, a
  // regular file is cut to its checkpointed size (the lines after it belong
  // to records that are processed again) and appended to; a missing or empty
  // one starts afresh; one shorter than its checkpoint is another file's
  // and an error.
  static Status Open(const std::string& output, const std::string& dead_letters, std::string output_topic,
                     std::string dead_letter_topic, std::unique_ptr<FileSink>* out, const Resume* resume = nullptr);
  ~FileSink() override;

  Status Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                 std::span<const Header> headers = {}) override;
  Status AwaitDelivery(std::chrono::milliseconds timeout) override;
  uint64_t outputs() const { return outputs_; }
  uint64_t dead_letters() const { return dead_letters_; }
  void AppendPositions(std::vector<TopicPartitionOffset>& out) const override;

 private:
  FileSink() = default;
  std::FILE* out_ = nullptr;
  std::FILE* dlq_ = nullptr;
  // Bytes in each regular file (-1: not a regular file, no position).
  int64_t out_bytes_ = -1, dlq_bytes_ = -1;
  bool owns_out_ = false;
  std::string output_topic_, dead_letter_topic_;
  std::string line_;
  uint64_t outputs_ = 0, dead_letters_ = 0;
  bool failed_ = false;
};

}  // namespace recstream::stream
