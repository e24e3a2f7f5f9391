// Report: the visual side of `recstream eval --report DIR`. After the
// prequential run it writes, into DIR,
//   index.html            the page: run summary, metrics table, the plots
//   *.tsv                 the data behind each plot (tab-separated)
//   plots.gp              the gnuplot script; `cd DIR && gnuplot plots.gp`
//                         redraws the plots from the .tsv files
//   *.svg                 the plots, drawn by gnuplot (Debian: gnuplot-nox)
//   gnuplot.log           what gnuplot printed
// Plots: HR@K over the stream (per window of scored events, every method),
// the per-event processing-time histogram, the category mix of the lists
// (share of list items by category, distinct categories per list) and the
// learned complement categories of the most popular categories.
//
// Names from the data (categories) are sanitised for gnuplot and escaped for
// HTML, so any input is safe to report. Not thread-safe; call once, after
// the run, on the thread that ran the pipeline.
#pragma once

#include <string>

#include "app/evaluation.h"
#include "operators/pipeline.h"
#include "stream/status.h"

namespace recstream::app {

struct ReportInfo {
  std::string input;        // the evaluated file, as given
  bool use_model = false;   // recommend.scorer = model
  double seconds = 0;       // wall time of the run
  uint64_t events = 0;      // records read
};

// Writes the report into dir (created if missing; files of an earlier report
// are overwritten). Every file is written before gnuplot runs, so a failure
// to render (gnuplot missing or failing) still leaves the data, the script
// and a page that says the plots are missing; the Status then names the
// problem. pipeline is non-const only because the model scorer's
// Complements() uses scratch space.
Status WriteReport(const std::string& dir, const Evaluation& eval, operators::Pipeline& pipeline,
                   const ReportInfo& info);

}  // namespace recstream::app
