#include "stream/file_io.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

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

Status FileSource::Open(const std::string& path, FileFormat format, std::unique_ptr<FileSource>* out) {
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
  if (format == FileFormat::kMovieLens || (format == FileFormat::kAuto && EndsWith(path, "ratings.csv"))) {
    src->format_ = FileFormat::kMovieLens;
    Status s = src->LoadMovieLens(path);
    if (!s.ok()) return s;
    *out = std::move(src);
    return Status::OK();
  }
  std::string first;
  const bool has_first = src->ReadLine(first);
  if (format == FileFormat::kAuto) {
    if (EndsWith(path, ".jsonl") || EndsWith(path, ".json") || (has_first && !first.empty() && first[0] == '{'))
      format = FileFormat::kJsonLines;
    else if (has_first && first.find("user_id") != std::string::npos)
      format = FileFormat::kCsv;
    else
      format = FileFormat::kTaobao;
  }
  src->format_ = format;
  if (format == FileFormat::kCsv) {
    if (!has_first) return Status::InvalidArgument("CSV input " + path + " has no header line");
    SplitCsv(first, src->header_);
    bool has_user = false;
    for (const auto& h : src->header_) has_user |= h == "user_id";
    if (!has_user) return Status::InvalidArgument("CSV input " + path + ": header has no user_id column");
  } else if (has_first) {
    src->pending_first_line_ = std::move(first);
    src->has_pending_first_ = true;
  }
  if (!has_first) src->eof_ = true;
  *out = std::move(src);
  return Status::OK();
}

FileSource::~FileSource() {
  if (owns_file_ && file_) std::fclose(file_);
}

bool FileSource::ReadLine(std::string& line) {
  line.clear();
  char buf[65536];
  bool any = false;
  while (std::fgets(buf, sizeof buf, file_)) {
    any = true;
    const size_t n = std::strlen(buf);
    bytes_read_ += n;
    line.append(buf, n);
    if (n > 0 && buf[n - 1] == '\n') break;
  }
  if (!any) return false;
  ++line_no_;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return true;
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
  std::FILE* ratings = file_;
  file_ = mf;
  std::unordered_map<std::string, std::string> genre;
  std::string line;
  std::vector<std::string> f;
  bool header = true;
  while (ReadLine(line)) {
    if (header) {
      header = false;
      continue;
    }
    SplitCsv(line, f);
    if (f.size() < 3) continue;
    const std::string& genres = f.back();
    genre[f[0]] = genres.substr(0, genres.find('|'));
  }
  std::fclose(mf);
  file_ = ratings;
  line_no_ = 0;
  header = true;
  while (ReadLine(line)) {
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
    if (has_pending_first_) {
      line = std::move(pending_first_line_);
      has_pending_first_ = false;
    } else if (!ReadLine(line)) {
      eof_ = true;
      if (std::ferror(file_)) return Status::IoError(std::string("read error: ") + std::strerror(errno));
      break;
    }
    if (line.empty()) continue;  // blank lines carry nothing
    const int64_t offset = line_no_;
    if (offset < skip_until_) continue;
    Record r;
    r.topic = kFileTopic;
    r.partition = 0;
    r.offset = offset;
    if (format_ == FileFormat::kJsonLines) {
      r.value = line;
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

Status FileSink::Open(const std::string& output, const std::string& dead_letters, std::string output_topic,
                      std::string dead_letter_topic, std::unique_ptr<FileSink>* out) {
  std::unique_ptr<FileSink> sink(new FileSink());
  if (output == "-") {
    sink->out_ = stdout;
  } else {
    sink->out_ = std::fopen(output.c_str(), "wb");
    if (!sink->out_) return Status::IoError("cannot open output " + output + ": " + std::strerror(errno));
    sink->owns_out_ = true;
  }
  sink->dlq_ = std::fopen(dead_letters.c_str(), "wb");
  if (!sink->dlq_) return Status::IoError("cannot open dead-letter file " + dead_letters + ": " + std::strerror(errno));
  sink->output_topic_ = std::move(output_topic);
  sink->dead_letter_topic_ = std::move(dead_letter_topic);
  *out = std::move(sink);
  return Status::OK();
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
  return Status::OK();
}

Status FileSink::AwaitDelivery(std::chrono::milliseconds) {
  if (std::fflush(out_) != 0 || std::fflush(dlq_) != 0) failed_ = true;
  if (failed_) return Status::IoError(std::string("write failed: ") + std::strerror(errno));
  return Status::OK();
}

}  // namespace recstream::stream
