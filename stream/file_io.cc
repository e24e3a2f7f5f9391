#include "stream/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "stream/dead_letter.h"
#include "stream/json_writer.h"

namespace recstream::stream {
namespace {

constexpr std::string_view kFileTopic = "file";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Splits one CSV line (RFC 4180 quoting) into fields; quoted fields are
// unescaped into storage.
void SplitCsv(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  fields.push_back(std::move(cur));
}

bool IsInteger(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

}  // namespace

bool ParseFileFormat(std::string_view name, FileFormat* out) {
  if (name == "auto") *out = FileFormat::kAuto;
  else if (name == "jsonl" || name == "json") *out = FileFormat::kJsonLines;
  else if (name == "csv") *out = FileFormat::kCsv;
  else if (name == "taobao") *out = FileFormat::kTaobao;
  else if (name == "movielens") *out = FileFormat::kMovieLens;
  else return false;
  return true;
}

LineReader::LineReader(std::FILE* file, size_t max_line_bytes)
    : file_(file), max_line_bytes_(std::max<size_t>(max_line_bytes, 1)), buf_(1 << 16) {}

namespace {
constexpr size_t kHeadBytes = 64 * 1024;
// A line with no end yields after this much, so that the caller can see a
// stop signal (/dev/zero has no newline).
constexpr uint64_t kYieldBytes = 16 << 20;
}  // namespace

// read(2), not stdio: a pipe's first bytes are served as they come (fread
// would wait for a whole buffer), and a signal ends the wait (EINTR) so
// that the caller can look at its stop flag.
LineReader::Fill LineReader::Read(char* into, size_t n, size_t* got) {
  *got = 0;
  if (eof_) return Fill::kEof;
  const ssize_t r = ::read(::fileno(file_), into, n);
  if (r > 0) {
    *got = static_cast<size_t>(r);
    return Fill::kData;
  }
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return Fill::kInterrupted;
  eof_ = true;
  error_ = r < 0;
  return Fill::kEof;
}

void LineReader::Prime() {
  if (primed_) return;
  primed_ = true;
  // The head is read into the buffer first (it must be able to hold it):
  // of a regular file its first 64 KiB, of a pipe what the first read gives.
  if (buf_.size() < kHeadBytes) buf_.resize(kHeadBytes);
  struct stat st {};
  const bool regular = ::fstat(::fileno(file_), &st) == 0 && S_ISREG(st.st_mode);
  size_t n = 0;
  while (n < kHeadBytes) {
    size_t got = 0;
    const Fill f = Read(buf_.data() + n, kHeadBytes - n, &got);
    n += got;
    if (f == Fill::kEof || (!regular && n > 0)) break;
  }
  pos_ = 0;
  end_ = n;
  head_.assign(buf_.data(), n);
  // A UTF-8 byte-order mark (Excel writes one into CSV) is not data.
  if (n >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
}

LineReader::Result LineReader::Next(std::string* line, uint64_t* whole_size, uint64_t* whole_fnv1a64) {
  Prime();
  uint64_t this_call = 0;
  for (;;) {
    if (pos_ == end_) {
      size_t got = 0;
      const Fill f = Read(buf_.data(), buf_.size(), &got);
      if (f == Fill::kInterrupted) return Result::kPending;
      if (f == Fill::kEof) {
        if (partial_size_ == 0 && partial_.empty()) return Result::kEof;
        break;  // a last line without a newline
      }
      pos_ = 0;
      end_ = got;
    }
    const char* begin = buf_.data() + pos_;
    const size_t avail = end_ - pos_;
    const void* nl = std::memchr(begin, '\n', avail);
    const size_t take = nl ? static_cast<const char*>(nl) - begin : avail;
    // Only a line cut at the bound is hashed (its dead letter carries the
    // whole line's hash): from the moment it passes the bound, over the
    // prefix kept (every byte so far) and then each further chunk.
    if (partial_size_ + take > max_line_bytes_) {
      if (partial_size_ <= max_line_bytes_) partial_hash_ = Fnv1a64(partial_);
      partial_hash_ = Fnv1a64(std::string_view(begin, take), partial_hash_);
    }
    if (partial_.size() < max_line_bytes_) partial_.append(begin, std::min(take, max_line_bytes_ - partial_.size()));
    partial_size_ += take;
    bytes_read_ += take + (nl ? 1 : 0);
    pos_ += take + (nl ? 1 : 0);
    this_call += take;
    if (nl) break;  // the newline counts as read; a line of only "\n" has size 0
    if (this_call >= kYieldBytes) return Result::kPending;
  }
  // A trailing \r (CRLF files) is not part of the line.
  const bool cut = partial_size_ > partial_.size();
  if (!cut) {
    while (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
  }
  *whole_size = cut ? partial_size_ : 0;
  *whole_fnv1a64 = cut ? partial_hash_ : 0;
  line->swap(partial_);
  partial_.clear();
  partial_size_ = 0;
  partial_hash_ = 0;
  return Result::kLine;
}

Status FileSource::Open(const std::string& path, FileFormat format, std::unique_ptr<FileSource>* out,
                        size_t max_line_bytes) {
  std::unique_ptr<FileSource> src(new FileSource());
  if (path == "-") {
    src->file_ = stdin;
  } else {
    src->file_ = std::fopen(path.c_str(), "rb");
    if (!src->file_) return Status::IoError("cannot open input " + path + ": " + std::strerror(errno));
    // fopen succeeds on a directory and every read then fails: the run
    // would read nothing and succeed.
    struct stat st {};
    if (::fstat(::fileno(src->file_), &st) == 0 && S_ISDIR(st.st_mode)) {
      std::fclose(src->file_);
      src->file_ = nullptr;
      return Status::IoError("cannot open input " + path + ": is a directory");
    }
    src->owns_file_ = true;
  }
  src->max_line_bytes_ = max_line_bytes;
  src->reader_ = std::make_unique<LineReader>(src->file_, max_line_bytes);
  src->reader_->Prime();
  if (src->reader_->error())
    return Status::IoError("cannot read input " + path + ": " + std::strerror(errno));
  if (format == FileFormat::kMovieLens || (format == FileFormat::kAuto && EndsWith(path, "ratings.csv"))) {
    src->format_ = FileFormat::kMovieLens;
    Status s = src->LoadMovieLens(path);
    if (!s.ok()) return s;
    *out = std::move(src);
    return Status::OK();
  }
  // Detection looks at the first line as far as the head holds it: a file
  // whose first line has no end (/dev/zero) must not be read whole here.
  std::string_view first = src->reader_->head();
  if (first.starts_with("\xEF\xBB\xBF")) first.remove_prefix(3);
  const bool has_first = !first.empty();
  first = first.substr(0, first.find('\n'));
  if (first.ends_with('\r')) first.remove_suffix(1);
  if (format == FileFormat::kAuto) {
    if (EndsWith(path, ".jsonl") || EndsWith(path, ".json") || (has_first && first[0] == '{'))
      format = FileFormat::kJsonLines;
    else if (has_first && first.find("user_id") != std::string::npos)
      format = FileFormat::kCsv;
    else
      format = FileFormat::kTaobao;
  }
  src->format_ = format;
  if (format == FileFormat::kCsv) {
    std::string header;
    bool pending = false;
    if (!src->ReadLine(header, &pending) && !pending)
      return Status::InvalidArgument("CSV input " + path + " has no header line");
    if (pending || src->whole_size_ != 0)
      return Status::InvalidArgument("CSV input " + path + ": the header line is too long");
    SplitCsv(header, src->header_);
    bool has_user = false;
    for (const auto& h : src->header_) has_user |= h == "user_id";
    if (!has_user) return Status::InvalidArgument("CSV input " + path + ": header has no user_id column");
  }
  if (!has_first) src->eof_ = true;
  *out = std::move(src);
  return Status::OK();
}

FileSource::~FileSource() {
  if (owns_file_ && file_) std::fclose(file_);
}

bool FileSource::ReadLine(std::string& line, bool* pending) {
  if (pending) *pending = false;
  switch (reader_->Next(&line, &whole_size_, &whole_fnv1a64_)) {
    case LineReader::Result::kLine:
      ++line_no_;
      return true;
    case LineReader::Result::kPending:
      if (pending) *pending = true;
      return false;
    case LineReader::Result::kEof:
      return false;
  }
  return false;
}

void FileSource::ConvertCsv(const std::string& line, std::string& json) {
  static const std::vector<std::string> kTaobaoHeader = {"user_id", "item_id", "category_id", "type", "ts"};
  const auto& header = format_ == FileFormat::kTaobao ? kTaobaoHeader : header_;
  std::vector<std::string> fields;
  SplitCsv(line, fields);
  json.clear();
  JsonWriter w(json);
  w.BeginObject();
  if (fields.size() != header.size()) {
    // Keep the row's shape visible to the parser: it rejects it.
    w.Key("__csv_error").String("expected " + std::to_string(header.size()) + " fields, got " +
                                std::to_string(fields.size()));
  }
  for (size_t i = 0; i < fields.size() && i < header.size(); ++i) {
    const std::string& name = header[i];
    const std::string& v = fields[i];
    if (v.empty()) continue;  // an empty cell is an absent field
    w.Key(name);
    if (name == "ts" && IsInteger(v)) {
      const long long t = std::stoll(v);
      // Taobao timestamps are seconds; the schema's are milliseconds.
      w.Int(format_ == FileFormat::kTaobao && t < 100'000'000'000LL ? t * 1000 : t);
    } else if (name == "active" && (v == "true" || v == "false")) {
      w.Bool(v == "true");
    } else {
      w.String(v);
    }
  }
  w.EndObject();
}

Status FileSource::LoadMovieLens(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string movies_path = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "movies.csv";
  std::FILE* mf = std::fopen(movies_path.c_str(), "rb");
  if (!mf) return Status::IoError("MovieLens: cannot open " + movies_path + " (expected beside ratings.csv)");
  std::unordered_map<std::string, std::string> genre;
  std::string line;
  std::vector<std::string> f;
  bool header = true;
  {
    LineReader movies(mf, max_line_bytes_);
    uint64_t size = 0, hash = 0;
    for (LineReader::Result r; (r = movies.Next(&line, &size, &hash)) != LineReader::Result::kEof;) {
      if (r == LineReader::Result::kPending) continue;
      if (header) {
        header = false;
        continue;
      }
      SplitCsv(line, f);
      if (f.size() < 3) continue;
      const std::string& genres = f.back();
      genre[f[0]] = genres.substr(0, genres.find('|'));
    }
    const bool failed = movies.error();
    std::fclose(mf);
    if (failed) return Status::IoError("MovieLens: cannot read " + movies_path);
  }
  line_no_ = 0;
  header = true;
  for (;;) {
    bool pending = false;
    if (!ReadLine(line, &pending)) {
      if (pending) continue;
      break;
    }
    if (header) {
      header = false;
      continue;
    }
    Row row;
    row.line = line_no_;
    row.original = line;
    SplitCsv(line, f);
    std::string json;
    JsonWriter w(json);
    w.BeginObject();
    if (f.size() != 4 || !IsInteger(f[3])) {
      w.Key("__csv_error").String("expected userId,movieId,rating,timestamp");
      row.ts = INT64_MAX;  // malformed rows sort last, then go to dead letters
    } else {
      row.ts = std::stoll(f[3]) * 1000;
      const double rating = std::strtod(f[2].c_str(), nullptr);
      w.Key("user_id").String(f[0]).Key("item_id").String(f[1]);
      if (auto g = genre.find(f[1]); g != genre.end()) w.Key("category_id").String(g->second);
      w.Key("type").String(rating >= 4.0 ? "purchase" : rating >= 3.0 ? "click" : "view");
      w.Key("ts").Int(row.ts);
    }
    w.EndObject();
    row.json = std::move(json);
    rows_.push_back(std::move(row));
  }
  if (reader_->error()) return Status::IoError("MovieLens: cannot read " + path + ": " + std::strerror(errno));
  std::stable_sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) { return a.ts < b.ts; });
  return Status::OK();
}

Status FileSource::Poll(size_t max, std::chrono::milliseconds, std::vector<Record>& out) {
  out.clear();
  if (format_ == FileFormat::kMovieLens) {
    while (out.size() < max && next_row_ < rows_.size()) {
      const Row& row = rows_[next_row_++];
      if (static_cast<int64_t>(next_row_) < skip_until_) continue;
      Record r;
      r.topic = kFileTopic;
      r.offset = static_cast<int64_t>(next_row_);  // position in time order
      r.value = row.json;
      r.original = row.original;
      out.push_back(r);
    }
    eof_ = next_row_ >= rows_.size();
    return Status::OK();
  }
  lines_.resize(std::max(lines_.size(), max));
  converted_.resize(std::max(converted_.size(), max));
  size_t n = 0;
  while (n < max && !eof_) {
    std::string& line = lines_[n];
    bool pending = false;
    if (!ReadLine(line, &pending)) {
      if (pending) break;  // a line with no end yet: let the caller look at its stop flag
      eof_ = true;
      if (reader_->error()) return Status::IoError(std::string("read error: ") + std::strerror(errno));
      break;
    }
    const uint64_t whole_size = whole_size_, whole_hash = whole_fnv1a64_;
    if (line.empty() && whole_size == 0) continue;  // blank lines carry nothing
    const int64_t offset = line_no_;
    if (offset < skip_until_) continue;
    Record r;
    r.topic = kFileTopic;
    r.partition = 0;
    r.offset = offset;
    r.whole_size = whole_size;
    r.whole_fnv1a64 = whole_hash;
    if (format_ == FileFormat::kJsonLines || whole_size != 0) {
      r.value = line;  // a cut line is rejected as oversized before any conversion
    } else {
      ConvertCsv(line, converted_[n]);
      r.value = converted_[n];
      r.original = line;
    }
    out.push_back(r);
    ++n;
  }
  return Status::OK();
}

namespace {

// Opens path for a sink: truncated, or (resume) cut to `checkpointed` bytes
// and appended to. *bytes: its size when it is a regular file, else -1.
Status OpenSinkFile(const std::string& path, const char* what, int64_t checkpointed, bool resume, std::FILE** f,
                    int64_t* bytes) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const bool regular = !exists || S_ISREG(st.st_mode);
  *bytes = -1;
  if (resume && regular && exists && st.st_size > 0 && checkpointed != kNoStoredOffset) {
    if (st.st_size < checkpointed)
      return Status::InvalidArgument(std::string(what) + " " + path + " holds " + std::to_string(st.st_size) +
                                     " bytes, fewer than the " + std::to_string(checkpointed) +
                                     " of the checkpoint it resumes: it is another file. Name the same file, a new "
                                     "one, or start over with a new --state-dir");
    if (st.st_size > checkpointed && ::truncate(path.c_str(), checkpointed) != 0)
      return Status::IoError("cannot cut " + path + " to its checkpoint: " + std::strerror(errno));
    *f = std::fopen(path.c_str(), "ab");
    if (*f) *bytes = checkpointed;
  } else {
    // A device or a FIFO (/dev/null, a pipe) is opened for writing as is.
    *f = std::fopen(path.c_str(), regular ? "wb" : "ab");
    if (*f && regular) *bytes = 0;
  }
  if (!*f) return Status::IoError(std::string("cannot open ") + what + " " + path + ": " + std::strerror(errno));
  return Status::OK();
}

}  // namespace

Status FileSink::Open(const std::string& output, const std::string& dead_letters, std::string output_topic,
                      std::string dead_letter_topic, std::unique_ptr<FileSink>* out, const Resume* resume) {
  std::unique_ptr<FileSink> sink(new FileSink());
  if (output == "-") {
    sink->out_ = stdout;
  } else {
    Status s = OpenSinkFile(output, "output", resume ? resume->output_bytes : kNoStoredOffset, resume != nullptr,
                            &sink->out_, &sink->out_bytes_);
    if (!s.ok()) return s;
    sink->owns_out_ = true;
  }
  Status s = OpenSinkFile(dead_letters, "dead-letter file", resume ? resume->dead_letter_bytes : kNoStoredOffset,
                          resume != nullptr, &sink->dlq_, &sink->dlq_bytes_);
  if (!s.ok()) return s;
  sink->output_topic_ = std::move(output_topic);
  sink->dead_letter_topic_ = std::move(dead_letter_topic);
  *out = std::move(sink);
  return Status::OK();
}

void FileSink::AppendPositions(std::vector<TopicPartitionOffset>& out) const {
  if (out_bytes_ >= 0) out.push_back({std::string(kFileOutputPosition), 0, out_bytes_});
  if (dlq_bytes_ >= 0) out.push_back({std::string(kFileDeadLetterPosition), 0, dlq_bytes_});
}

FileSink::~FileSink() {
  if (owns_out_ && out_) std::fclose(out_);
  else if (out_) std::fflush(out_);
  if (dlq_) std::fclose(dlq_);
}

Status FileSink::Produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
                         std::span<const Header> headers) {
  line_.clear();
  if (topic == dead_letter_topic_) {
    JsonWriter w(line_);
    w.BeginObject();
    for (const auto& h : headers) {
      std::string_view name = h.name;
      if (name.starts_with("recstream.")) name.remove_prefix(10);
      w.Key(name).String(h.value);
    }
    w.Key("key").String(key);
    if (value) w.Key("value_base64").String(Base64(*value));
    else w.Key("value_base64").Null();
    w.EndObject();
    line_.push_back('\n');
    ++dead_letters_;
    if (std::fwrite(line_.data(), 1, line_.size(), dlq_) != line_.size()) failed_ = true;
    if (dlq_bytes_ >= 0) dlq_bytes_ += static_cast<int64_t>(line_.size());
    return Status::OK();
  }
  if (topic != output_topic_) return Status::InvalidArgument("file sink has no topic " + std::string(topic));
  if (value) {
    line_.append(*value);
  } else {
    JsonWriter w(line_);
    w.BeginObject().Key("user_id").String(key).Key("tombstone").Bool(true).EndObject();
  }
  line_.push_back('\n');
  ++outputs_;
  if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size()) failed_ = true;
  if (out_bytes_ >= 0) out_bytes_ += static_cast<int64_t>(line_.size());
  return Status::OK();
}

Status FileSink::AwaitDelivery(std::chrono::milliseconds) {
  if (std::fflush(out_) != 0 || std::fflush(dlq_) != 0) failed_ = true;
  if (failed_) return Status::IoError(std::string("write failed: ") + std::strerror(errno));
  return Status::OK();
}

}  // namespace recstream::stream
