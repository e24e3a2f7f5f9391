#include "app/report.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <vector>

namespace recstream::app {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxHitRatePoints = 60;    // windows are merged down to this
constexpr size_t kMixCategories = 10;       // bars in the category-mix plot (+ "other")
constexpr size_t kTopCategories = 8;        // rows of the complement heat map
constexpr size_t kComplementsShown = 5;     // columns of the complement heat map
constexpr size_t kMaxLabel = 18;            // characters of a category name in a plot

// A category name as a gnuplot label: printable ASCII without quotes or
// backslashes (which would end or escape a gnuplot string) and no tabs (the
// data files are tab-separated), shortened.
std::string PlotLabel(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (out.size() >= kMaxLabel) {
      out += "~";
      break;
    }
    const bool ok = c > ' ' && c < 127 && c != '"' && c != '\'' && c != '\\';
    out += ok ? c : (c == ' ' ? ' ' : '?');
  }
  return out.empty() ? std::string("?") : out;
}

std::string Html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Status WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  if (!f) return Status::IoError("cannot write " + path.string());
  return Status::OK();
}

std::string CategoryName(const operators::Pipeline& p, model::CategoryId c) {
  return c < p.category_ids().size() ? p.category_ids().Name(c) : "#" + std::to_string(c);
}

// Every gnuplot plot starts from the same settings (reset clears them).
const char* kPreamble =
    "reset\n"
    "set datafile separator '\\t'\n"
    "set grid ytics lc rgb '#dddddd'\n"
    "set border lc rgb '#555555'\n"
    "set style fill solid 0.85 border -1\n";

struct Plot {
  std::string file, title, caption;
};

// "\tname" for every method: the header of a per-method .tsv column set.
std::string MethodColumns() {
  std::string out;
  for (int m = 0; m < Evaluation::kMethods; ++m) out += std::string("\t") + Evaluation::MethodName(m);
  return out;
}

// The line colour of method m in every plot (recstream first, in red).
const char* MethodColour(int m) {
  static const char* const kColours[] = {"#d7301f", "#7f7f7f", "#bdbdbd", "#2c7fb8", "#31a354"};
  static_assert(sizeof kColours / sizeof kColours[0] == Evaluation::kMethods);
  return kColours[m];
}

// The gnuplot plot clauses of every method: column m + 2 of the file (x
// taken from column 1 when `lines`, else the histogram's xtic column 1).
std::string MethodPlots(const std::string& file, bool lines) {
  std::string out;
  for (int m = 0; m < Evaluation::kMethods; ++m) {
    const std::string col = std::to_string(m + 2);
    out += m == 0 ? "plot '" + file + "' using " : ", \\\n     '' using ";
    if (lines) out += "1:" + col + (m == 0 ? " with linespoints lw 2 pt 7 ps 0.5" : " with lines lw 2");
    else out += col + (m == 0 ? ":xtic(1)" : "");
    out += std::string(" lc rgb '") + MethodColour(m) + "' title '" + Evaluation::MethodName(m) + "'";
  }
  return out + "\n";
}

// --- data ------------------------------------------------------------------

std::string HitRateData(const Evaluation& eval, std::string* note) {
  const auto& w = eval.windows();
  const size_t group = std::max<size_t>(1, (w.size() + kMaxHitRatePoints - 1) / kMaxHitRatePoints);
  std::string out = "# events_scored" + MethodColumns() + "\n";
  uint64_t scored = 0;
  size_t points = 0;
  for (size_t i = 0; i < w.size(); i += group) {
    uint64_t n = 0;
    double hits[Evaluation::kMethods] = {};
    for (size_t j = i; j < std::min(w.size(), i + group); ++j) {
      n += w[j].n;
      for (int m = 0; m < Evaluation::kMethods; ++m) hits[m] += w[j].hits[m];
    }
    if (n == 0) continue;
    scored += n;
    out += std::to_string(scored);
    for (int m = 0; m < Evaluation::kMethods; ++m) out += "\t" + Fmt("%.5f", hits[m] / static_cast<double>(n));
    out += "\n";
    ++points;
  }
  if (points == 0) {  // an empty plot rather than a gnuplot error
    out += "0";
    for (int m = 0; m < Evaluation::kMethods; ++m) out += "\t0";
    out += "\n";
  }
  *note = std::to_string(group * Evaluation::kWindowEvents);
  return out;
}

std::string LatencyData(const Evaluation& eval) {
  // Columns: bucket centre (us), events, bucket width (us): boxes span the
  // bucket exactly on the log axis.
  std::string out = "# centre_us\tevents\twidth_us\n";
  const auto& h = eval.latency_histogram();
  bool any = false;
  for (size_t b = 0; b < h.size(); ++b) {
    if (h[b] == 0) continue;
    const double lo = Evaluation::LatencyBucketNs(b) / 1000, hi = Evaluation::LatencyBucketNs(b + 1) / 1000;
    out += Fmt("%.6g", (lo + hi) / 2) + "\t" + std::to_string(h[b]) + "\t" + Fmt("%.6g", hi - lo) + "\n";
    any = true;
  }
  if (!any) out += "1\t0\t0.1\n";
  return out;
}

// Share (%) of list items per category: the categories most present in
// recstream's lists, then "other".
std::string CategoryMixData(const Evaluation& eval, const operators::Pipeline& p) {
  const auto& mine = eval.list_items_by_category(0);
  std::vector<model::CategoryId> order(mine.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return mine[a] != mine[b] ? mine[a] > mine[b] : a < b; });
  while (!order.empty() && mine[order.back()] == 0) order.pop_back();
  if (order.size() > kMixCategories) order.resize(kMixCategories);

  std::string out = "# category" + MethodColumns() + "\n";
  std::vector<std::string> rows(order.size() + 1);
  for (size_t i = 0; i < order.size(); ++i) rows[i] = PlotLabel(CategoryName(p, order[i]));
  rows.back() = "other";
  for (int m = 0; m < Evaluation::kMethods; ++m) {
    const auto& by = eval.list_items_by_category(m);
    const double total = static_cast<double>(std::accumulate(by.begin(), by.end(), uint64_t{0}));
    double shown = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      const double share = order[i] < by.size() && total > 0 ? 100.0 * static_cast<double>(by[order[i]]) / total : 0;
      shown += share;
      rows[i] += "\t" + Fmt("%.3f", share);
    }
    rows.back() += "\t" + Fmt("%.3f", total > 0 ? std::max(0.0, 100.0 - shown) : 0);
  }
  for (const auto& r : rows) out += r + "\n";
  return out;
}

// Share (%) of lists by number of distinct categories in the list.
std::string CategoriesPerListData(const Evaluation& eval) {
  size_t width = 1;
  for (int m = 0; m < Evaluation::kMethods; ++m) width = std::max(width, eval.categories_per_list(m).size());
  std::string out = "# categories" + MethodColumns() + "\n";
  for (size_t c = 0; c < width; ++c) {
    out += std::to_string(c);
    for (int m = 0; m < Evaluation::kMethods; ++m) {
      const auto& h = eval.categories_per_list(m);
      const double total = static_cast<double>(std::accumulate(h.begin(), h.end(), uint64_t{0}));
      out += "\t" + Fmt("%.3f", c < h.size() && total > 0 ? 100.0 * static_cast<double>(h[c]) / total : 0);
    }
    out += "\n";
  }
  return out;
}

struct ComplementRow {
  model::CategoryId from;
  std::vector<std::pair<model::CategoryId, double>> to;  // best first, score in [0, 1]
};

// The complements the active scorer would use for the most popular
// categories: the rules scorer's P(next category | category) from the decayed
// transitions, or the model scorer's blended complement scores.
std::vector<ComplementRow> Complements(const Evaluation& eval, operators::Pipeline& p, bool use_model) {
  const model::ItemModel& m = p.model();
  std::vector<model::CategoryId> cats;
  for (model::CategoryId c = 0; c < m.category_count(); ++c)
    if (m.category(c).log_pop != model::kLogZero) cats.push_back(c);
  // Forward-decayed popularities share one clock, so they compare directly.
  std::sort(cats.begin(), cats.end(), [&](auto a, auto b) {
    const double pa = m.category(a).log_pop, pb = m.category(b).log_pop;
    return pa != pb ? pa > pb : a < b;
  });
  if (cats.size() > kTopCategories) cats.resize(kTopCategories);

  std::vector<ComplementRow> rows;
  std::vector<model::TopList<model::CategoryId>::Entry> top;
  for (model::CategoryId c : cats) {
    ComplementRow row{c, {}};
    if (use_model) {
      p.recommender_model().Complements(c, eval.last_ts_ms(), kComplementsShown, top);
      for (const auto& e : top) row.to.emplace_back(e.key, e.log_weight);  // already exp()'d: a score
    } else {
      const model::CategoryRow& cr = m.category(c);
      cr.successors.Top(kComplementsShown + 1, top);
      for (const auto& e : top) {
        if (e.key == c || row.to.size() == kComplementsShown) continue;
        // Both weights are on the transition clock: their ratio is the share.
        row.to.emplace_back(e.key, std::clamp(std::exp(e.log_weight - cr.log_out), 0.0, 1.0));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ComplementData(const std::vector<ComplementRow>& rows, const operators::Pipeline& p) {
  // A full grid: x = rank, y = row; cells without a complement are blank.
  std::string out = "# rank\trow\tscore\tcomplement\tcategory\n";
  for (size_t y = 0; y < std::max<size_t>(rows.size(), 1); ++y) {
    for (size_t x = 0; x < kComplementsShown; ++x) {
      const bool has = y < rows.size() && x < rows[y].to.size();
      out += std::to_string(x + 1) + "\t" + std::to_string(y) + "\t" +
             Fmt("%.4f", has ? rows[y].to[x].second : 0.0) + "\t" +
             (has ? PlotLabel(CategoryName(p, rows[y].to[x].first)) : std::string("-")) + "\t" +
             (y < rows.size() ? PlotLabel(CategoryName(p, rows[y].from)) : std::string("-")) + "\n";
    }
  }
  return out;
}

// --- the gnuplot script ------------------------------------------------------

std::string Script(const std::string& window, const std::vector<ComplementRow>& rows,
                   const operators::Pipeline& p, bool use_model, const Evaluation& eval) {
  std::ostringstream g;
  g << "# recstream eval --report: the plots of index.html from the .tsv files beside this script.\n"
       "# Redraw with: gnuplot plots.gp (in this directory).\n"
       "set terminal svg size 760,420 dynamic noenhanced font 'sans,12' background rgb 'white'\n";

  g << kPreamble << "set output 'hit_rate.svg'\n"
    << "set title 'HR@" << eval.k() << " over the stream (windows of " << window << " scored events)'\n"
    << "set xlabel 'events scored'\nset ylabel 'HR@" << eval.k() << "'\nset yrange [0:*]\nset key below horizontal\n"
    << MethodPlots("hit_rate.tsv", true);

  g << kPreamble << "set output 'latency.svg'\n"
    << "set title 'per-event processing time (learn + sequence + list): p50 "
    << Fmt("%.1f", eval.LatencyQuantileNs(0.5) / 1000) << " us, p99 " << Fmt("%.1f", eval.LatencyQuantileNs(0.99) / 1000)
    << " us'\n"
    << "set logscale x 10\nset xlabel 'microseconds (log scale)'\nset ylabel 'events'\nset yrange [0:*]\nunset key\n"
    << "plot 'latency.tsv' using 1:2:3 with boxes lc rgb '#2c7fb8'\n";

  g << kPreamble << "set output 'category_mix.svg'\n"
    << "set title 'share of list items by category (the categories most present in recstream lists)'\n"
    << "set style data histograms\nset style histogram clustered gap 1\nset xtics rotate by -35 nomirror\n"
    << "set ylabel '% of list items'\nset yrange [0:*]\nset key below horizontal\n"
    << MethodPlots("category_mix.tsv", false);

  g << kPreamble << "set output 'categories_per_list.svg'\n"
    << "set title 'distinct categories per list'\n"
    << "set style data histograms\nset style histogram clustered gap 1\n"
    << "set xlabel 'categories in the list'\nset ylabel '% of lists'\nset yrange [0:*]\nset key below horizontal\n"
    << MethodPlots("categories_per_list.tsv", false);

  const size_t n_rows = std::max<size_t>(rows.size(), 1);
  g << kPreamble << "set output 'complements.svg'\n"
    << "set terminal svg size 760," << 140 + 36 * n_rows << " dynamic noenhanced font 'sans,12' background rgb 'white'\n"
    << "set title '" << (use_model ? "learned complements (model scorer: blended score)"
                                   : "learned complements: P(next category | category)")
    << " for the most popular categories'\n"
    << "set xrange [0.5:" << kComplementsShown + 0.5 << "]\nset yrange [-0.5:" << n_rows - 0.5 << "] reverse\n"
    << "set xlabel 'complement rank'\nset xtics 1\nset cbrange [0:*]\n"
    << "set palette defined (0 '#ffffff', 1 '#fdae6b', 2 '#d7301f')\nunset key\nunset grid\nset ytics (";
  for (size_t y = 0; y < rows.size(); ++y)
    g << (y ? ", " : "") << "'" << PlotLabel(CategoryName(p, rows[y].from)) << "' " << y;
  if (rows.empty()) g << "'(none)' 0";
  g << ")\n"
    // Boxes rather than an image: a browser would smooth an image's cells.
    << "plot 'complements.tsv' using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 border lc rgb '#ffffff' "
       "fc palette, \\\n     '' using 1:2:4 with labels font ',11'\n";
  return g.str();
}

// Runs `gnuplot plots.gp` in dir, output to dir/gnuplot.log.
Status RunGnuplot(const fs::path& dir) {
  const std::string log = (dir / "gnuplot.log").string();
  const std::string cwd = dir.string();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int fd = ::open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    ::execlp("gnuplot", "gnuplot", "plots.gp", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::IoError(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return Status::IoError("gnuplot not found: install Debian's gnuplot-nox (scripts/setup.sh does)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Status::IoError("gnuplot failed (see " + log + ")");
  return Status::OK();
}

}  // namespace

Status WriteReport(const std::string& dir_name, const Evaluation& eval, operators::Pipeline& pipeline,
                   const ReportInfo& info) {
  const fs::path dir(dir_name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) return Status::IoError("cannot create report directory " + dir_name);

  std::string window;
  const auto complements = Complements(eval, pipeline, info.use_model);

  Status s = WriteFile(dir / "hit_rate.tsv", HitRateData(eval, &window));
  if (s.ok()) s = WriteFile(dir / "latency.tsv", LatencyData(eval));
  if (s.ok()) s = WriteFile(dir / "category_mix.tsv", CategoryMixData(eval, pipeline));
  if (s.ok()) s = WriteFile(dir / "categories_per_list.tsv", CategoriesPerListData(eval));
  if (s.ok()) s = WriteFile(dir / "complements.tsv", ComplementData(complements, pipeline));
  if (s.ok())
    s = WriteFile(dir / "plots.gp", Script(window, complements, pipeline, info.use_model, eval));
  if (!s.ok()) return s;
  const Status rendered = RunGnuplot(dir);

  const Plot plots[] = {
      {"hit_rate.svg", "Hit rate over the stream",
       "HR@K of each method in consecutive windows of scored events (prequential: each event is scored against the "
       "list in force before it). A rising curve is the model learning online."},
      {"latency.svg", "Per-event processing time",
       "Time from the event entering the pipeline's apply step to its new list (learn, sequence, recommend) on this "
       "machine, one thread; parsing and batch I/O are not included. Log-scale buckets."},
      {"category_mix.svg", "Category mix of the lists",
       "Share of all list items that fall in each category, for the categories most present in recstream's lists."},
      {"categories_per_list.svg", "Categories per list",
       "How many distinct categories a list spans: cross-category lists sit to the right."},
      {"complements.svg", "Learned complement categories",
       info.use_model ? "For the most popular categories, the complement categories the model scorer reaches for "
                        "(transitions blended with category-embedding affinity), best first."
                      : "For the most popular categories, the categories that follow them in users' sequences "
                        "(decayed transitions, purchase to next purchase weighing most), best first."},
  };

  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<title>recstream eval report</title>\n<style>\n"
    << "body{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}\n"
    << "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}\n"
    << "figure{margin:2em 0}figcaption{color:#555;font-size:14px}img{max-width:100%;border:1px solid #eee}\n"
    << "table{border-collapse:collapse;font-size:14px}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}\n"
    << ".warn{background:#fff3cd;padding:.8em}\n</style></head><body>\n"
    << "<h1>recstream eval report</h1>\n"
    << "<p>Input <code>" << Html(info.input) << "</code>, scorer <b>" << (info.use_model ? "model" : "rules")
    << "</b>, K = " << eval.k() << ", " << info.events << " events in " << Fmt("%.2f", info.seconds) << " s; "
    << pipeline.item_ids().size() << " items, " << pipeline.category_ids().size() << " categories.</p>\n";
  if (!rendered.ok())
    h << "<p class=\"warn\">The plots were not rendered: " << Html(rendered.message())
      << ". The data (.tsv) and the gnuplot script (plots.gp) are in this directory.</p>\n";
  h << "<h2>Metrics</h2>\n<pre>" << Html(eval.Table(pipeline.item_ids().size())) << "</pre>\n";
  for (const auto& p : plots) {
    h << "<figure><h2>" << Html(p.title) << "</h2>\n<img src=\"" << p.file << "\" alt=\"" << Html(p.title)
      << "\">\n<figcaption>" << Html(p.caption) << "</figcaption></figure>\n";
  }
  h << "<h2>Complements, as numbers</h2>\n<table><tr><th>category</th><th>complements (score)</th></tr>\n";
  for (const auto& r : complements) {
    h << "<tr><td>" << Html(CategoryName(pipeline, r.from)) << "</td><td>";
    for (size_t i = 0; i < r.to.size(); ++i)
      h << (i ? ", " : "") << Html(CategoryName(pipeline, r.to[i].first)) << " (" << Fmt("%.3f", r.to[i].second) << ")";
    h << "</td></tr>\n";
  }
  h << "</table>\n<p>Data: <code>*.tsv</code>; redraw with <code>gnuplot plots.gp</code> in this directory.</p>\n"
    << "</body></html>\n";
  s = WriteFile(dir / "index.html", h.str());
  if (!s.ok()) return s;
  return rendered;
}

}  // namespace recstream::app
