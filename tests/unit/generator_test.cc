// Unit tests of app/generator: deterministic for a seed, events in the input
// schema (read back with the pipeline's own parser), and the planted
// structure (complement categories) actually present in the stream. The
// simple world's output is pinned; the hard world's properties (category
// Zipf, hubs, sessions, cart-then-buy, weighted complements) are measured.
#include "app/generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "operators/parse.h"

namespace recstream::app {
namespace {

GeneratorOptions Small(uint64_t seed) {
  GeneratorOptions o;
  o.seed = seed;
  o.users = 300;
  o.items = 2000;
  o.categories = 20;
  return o;
}

std::vector<std::string> Json(const GeneratorOptions& o, size_t n) {
  Generator g(o);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(g.Next().ToJson());
  return out;
}

TEST(Generator, DeterministicForASeed) {
  const auto a = Json(Small(7), 5000);
  const auto b = Json(Small(7), 5000);
  EXPECT_EQ(a, b);
  const auto c = Json(Small(8), 5000);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == c[i];
  EXPECT_LT(same, a.size() / 100) << "another seed gives (nearly) the same stream";
  // The planted structure is part of what the seed determines.
  EXPECT_EQ(Generator(Small(7)).complements(), Generator(Small(7)).complements());
}

// Every event parses with the pipeline's parser into the same fields, ids are
// unique, time never goes back and an item keeps its category.
void ExpectInputSchema(const GeneratorOptions& o) {
  Generator g(o);
  operators::Parser parser(operators::ParseOptions{});
  operators::ParsedEvent pe;
  std::string detail;
  std::set<std::string> event_ids, types;
  std::map<std::string, std::string> category_of_item;
  int64_t prev_ts = 0;
  for (int i = 0; i < 20'000; ++i) {
    const GeneratedEvent e = g.Next();
    const std::string json = e.ToJson();
    stream::Record r;
    r.topic = "events";
    r.key = e.user_id;
    r.value = json;
    ASSERT_EQ(parser.Parse(r, /*catalog=*/false, /*now_ms=*/e.ts_ms, pe, detail), operators::Reject::kNone)
        << json << ": " << detail;
    ASSERT_EQ(pe.kind, operators::ParsedEvent::Kind::kEvent);
    EXPECT_EQ(pe.user_id, e.user_id);
    EXPECT_EQ(pe.item_id, e.item_id);
    EXPECT_EQ(pe.category_id, e.category_id);
    EXPECT_EQ(pe.event_id, e.event_id);
    EXPECT_EQ(pe.ts_ms, e.ts_ms);
    EXPECT_EQ(model::EventTypeName(pe.type), e.type);
    types.insert(e.type);
    EXPECT_TRUE(event_ids.insert(e.event_id).second) << "event_id " << e.event_id << " repeats";
    EXPECT_GE(e.ts_ms, prev_ts) << "events out of time order at " << i;
    EXPECT_GE(e.ts_ms, o.start_ts_ms);
    prev_ts = e.ts_ms;
    // An item always belongs to the same category (the catalog is fixed).
    auto [it, inserted] = category_of_item.emplace(e.item_id, e.category_id);
    EXPECT_EQ(it->second, e.category_id) << "item " << e.item_id << " changes category";
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(types, (std::set<std::string>{"view", "click", "cart", "purchase"}));
  std::set<std::string> categories;
  for (const auto& [item, cat] : category_of_item) categories.insert(cat);
  EXPECT_GT(categories.size(), o.categories / 2);
  EXPECT_LE(categories.size(), o.categories);
  for (const auto& c : categories) EXPECT_EQ(c.size(), 3u) << c;  // "cNN"
}

TEST(Generator, EventsMatchTheInputSchema) { ExpectInputSchema(Small(3)); }

TEST(Generator, PurchasesAreFollowedByPurchasesInPlantedComplements) {
  GeneratorOptions o = Small(11);
  Generator g(o);
  const auto& comps = g.complements();
  ASSERT_EQ(comps.size(), o.categories);
  for (size_t c = 0; c < comps.size(); ++c) {
    EXPECT_EQ(comps[c].size(), o.complements);
    for (size_t d : comps[c]) EXPECT_NE(d, c) << "a category is its own complement";
  }
  auto index = [](const std::string& name) { return static_cast<size_t>(std::stoul(name.substr(1))); };
  auto in = [](const std::vector<size_t>& v, size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };

  // For each user's consecutive purchases (a, b): is b a planted complement
  // of a? Control: is b a planted complement of an unrelated category?
  std::map<std::string, size_t> last_purchase;
  size_t pairs = 0, planted = 0, control = 0;
  for (int i = 0; i < 300'000; ++i) {
    const GeneratedEvent e = g.Next();
    if (e.type != "purchase") continue;
    const size_t b = index(e.category_id);
    auto it = last_purchase.find(e.user_id);
    if (it != last_purchase.end()) {
      const size_t a = it->second;
      ++pairs;
      planted += in(comps[a], b);
      control += in(comps[(a + 7) % o.categories], b) && !in(comps[a], b);
    }
    last_purchase[e.user_id] = b;
  }
  ASSERT_GT(pairs, 1000u);
  const double rate = static_cast<double>(planted) / pairs;
  const double chance = static_cast<double>(o.complements) / static_cast<double>(o.categories);
  const double control_rate = static_cast<double>(control) / pairs;
  EXPECT_GT(rate, 0.5) << planted << " of " << pairs;
  EXPECT_GT(rate, 3 * chance);
  EXPECT_GT(rate, 3 * control_rate) << "control " << control << " of " << pairs;
}

// ---------------------------------------------------------------------------
// The simple world: pinned. These values were computed from the generator
// before the hard world was added; the simple world must never change them.

uint64_t Fnv1a(const GeneratorOptions& o, size_t n, std::string* first_line = nullptr) {
  Generator g(o);
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    std::string line = g.Next().ToJson();
    if (i == 0 && first_line) *first_line = line;
    line.push_back('\n');  // as `recstream gen` writes it
    for (unsigned char c : line) h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

TEST(Generator, SimpleWorldIsPinned) {
  EXPECT_EQ(GeneratorOptions{}.world, World::kSimple);
  std::string first;
  // Re-pinned when event ids took the seed ("s<seed>-<n>"): only the ids
  // changed, every other field of every event is as before.
  EXPECT_EQ(Fnv1a(Small(7), 5000, &first), 0x95d187fae114eea1ULL);
  EXPECT_EQ(first,
            R"({"event_id":"s7-0","user_id":"u168","item_id":"i412","category_id":"c04","type":"view","ts":1767225600020})");
  // `recstream gen -n 10000` with the default options.
  EXPECT_EQ(Fnv1a(GeneratorOptions{}, 10'000, &first), 0xe4bc8320eeac642bULL);
  EXPECT_EQ(first,
            R"({"event_id":"s42-0","user_id":"u2234","item_id":"i10260","category_id":"c20","type":"cart","ts":1767225600048})");
  const Generator g{GeneratorOptions{}};
  EXPECT_EQ(g.complements()[0], (std::vector<size_t>{29, 6, 11}));
  EXPECT_EQ(g.complements()[1], (std::vector<size_t>{13, 34, 8}));
  EXPECT_TRUE(g.hubs().empty());
  EXPECT_EQ(g.complement_weights()[0], (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3}));
}

// ---------------------------------------------------------------------------
// The hard world.

GeneratorOptions HardSmall(uint64_t seed) {
  GeneratorOptions o = GeneratorOptions::Hard();
  o.seed = seed;
  o.users = 3000;  // fewer users than Hard(), so that each has more events
  o.items = 24000;
  return o;
}

std::vector<GeneratedEvent> Events(const GeneratorOptions& o, size_t n) {
  Generator g(o);
  std::vector<GeneratedEvent> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(g.Next());
  return out;
}

// Each user's events, in stream order.
std::unordered_map<std::string, std::vector<GeneratedEvent>> ByUser(const std::vector<GeneratedEvent>& events) {
  std::unordered_map<std::string, std::vector<GeneratedEvent>> out;
  for (const auto& e : events) out[e.user_id].push_back(e);
  return out;
}

size_t CategoryIndex(const std::string& name) { return static_cast<size_t>(std::stoul(name.substr(1))); }

bool Contains(const std::vector<size_t>& v, size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Events per category, most popular first: (count, category).
std::vector<std::pair<size_t, size_t>> CategoryCounts(const std::vector<GeneratedEvent>& events, size_t categories) {
  std::vector<std::pair<size_t, size_t>> counts(categories);
  for (size_t c = 0; c < categories; ++c) counts[c] = {0, c};
  for (const auto& e : events) ++counts[CategoryIndex(e.category_id)].first;
  std::sort(counts.rbegin(), counts.rend());
  return counts;
}

TEST(Generator, HardWorldIsDeterministicForASeed) {
  const auto json = [](const GeneratorOptions& o) {
    std::vector<std::string> out;
    for (const auto& e : Events(o, 20'000)) out.push_back(e.ToJson());
    return out;
  };
  const auto a = json(HardSmall(7));
  EXPECT_EQ(a, json(HardSmall(7)));
  const auto c = json(HardSmall(8));
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == c[i];
  EXPECT_LT(same, a.size() / 100) << "another seed gives (nearly) the same stream";
  const Generator g7(HardSmall(7)), g7b(HardSmall(7)), g8(HardSmall(8));
  EXPECT_EQ(g7.complements(), g7b.complements());
  EXPECT_EQ(g7.complement_weights(), g7b.complement_weights());
  EXPECT_EQ(g7.hubs(), g7b.hubs());
  EXPECT_NE(g7.complements(), g8.complements());

  // Event ids carry the seed: streams of two seeds (and the simple world's
  // counter ids) can be mixed without a collision.
  std::set<std::string> ids;
  for (const auto& e : Events(HardSmall(7), 5000)) ids.insert(e.event_id);
  for (const auto& e : Events(HardSmall(8), 5000)) EXPECT_EQ(ids.count(e.event_id), 0u) << e.event_id;
  for (const auto& e : Events(HardSmall(78), 5000)) EXPECT_EQ(ids.count(e.event_id), 0u) << e.event_id;
  Generator simple(Small(7));
  std::set<std::string> simple7;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = simple.Next().event_id;
    EXPECT_EQ(ids.count(id), 0u);
    simple7.insert(id);
  }
  // The simple world's ids carry the seed too ("s<seed>-<n>"): a second
  // stream with another seed into the same topic is not a stream of duplicates.
  Generator simple8(Small(8));
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(simple7.count(simple8.Next().event_id), 0u);
  EXPECT_EQ(Events(HardSmall(7), 1)[0].event_id, "e7-0");
}

TEST(Generator, HardWorldEventsMatchTheInputSchema) {
  GeneratorOptions o = HardSmall(3);
  o.categories = 40;  // ids "cNN", as the schema check expects
  ExpectInputSchema(o);
}

TEST(Generator, HardWorldEventsAreInTimeOrder) {
  const GeneratorOptions o = HardSmall(5);
  const auto events = Events(o, 100'000);
  int64_t prev = o.start_ts_ms;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_GE(events[i].ts_ms, prev) << "event " << i << " goes back in time";
    prev = events[i].ts_ms;
  }
  // Not a burst: the stream spans hours, and most users show up.
  EXPECT_GT(events.back().ts_ms - events.front().ts_ms, 3 * 3'600'000);
  EXPECT_GT(ByUser(events).size(), o.users / 2);
}

TEST(Generator, HardWorldCategoryPopularityIsZipfSkewed) {
  const GeneratorOptions o = HardSmall(21);
  const auto counts = CategoryCounts(Events(o, 100'000), o.categories);
  const double top = static_cast<double>(counts.front().first);
  const double median = static_cast<double>(counts[counts.size() / 2].first);
  EXPECT_GT(top, 8 * median) << "top " << top << ", median " << median;
  size_t top5 = 0, all = 0;
  for (size_t i = 0; i < counts.size(); ++i) (i < 5 ? top5 : all) += counts[i].first;
  all += top5;
  EXPECT_GT(static_cast<double>(top5), 0.2 * static_cast<double>(all)) << "5 of 120 categories";

  // Control: without category popularity and hubs the same measure is flat.
  GeneratorOptions flat = o;
  flat.category_zipf_s = 0;
  flat.hubs = 0;
  const auto flat_counts = CategoryCounts(Events(flat, 100'000), flat.categories);
  EXPECT_LT(flat_counts.front().first, 3 * flat_counts[flat_counts.size() / 2].first);
}

TEST(Generator, HardWorldEventsComeInSessions) {
  const GeneratorOptions o = HardSmall(9);
  const auto users = ByUser(Events(o, 150'000));
  size_t gaps = 0, short_gaps = 0, long_gaps = 0, repeats = 0, views = 0;
  for (const auto& [user, ev] : users) {
    std::set<std::string> session_items;
    for (size_t i = 0; i < ev.size(); ++i) {
      if (i > 0) {
        const int64_t gap = ev[i].ts_ms - ev[i - 1].ts_ms;
        ++gaps;
        short_gaps += gap < 60'000;
        long_gaps += gap > 30 * 60'000;
        if (gap > 30 * 60'000) session_items.clear();
      }
      if (ev[i].type == "view" || ev[i].type == "click") {
        ++views;
        repeats += !session_items.insert(ev[i].item_id).second;
      }
    }
  }
  ASSERT_GT(gaps, 10'000u);
  const double n = static_cast<double>(gaps);
  // Bimodal: seconds within a session, more than half an hour between.
  EXPECT_GT(short_gaps / n, 0.7) << short_gaps << " of " << gaps;
  EXPECT_GT(long_gaps / n, 0.03) << long_gaps << " of " << gaps;
  EXPECT_LT((gaps - short_gaps - long_gaps) / n, 0.05) << "gaps between 1 and 30 minutes";
  // The same item viewed again within a session.
  EXPECT_GT(static_cast<double>(repeats) / static_cast<double>(views), 0.1) << repeats << " of " << views;
}

TEST(Generator, HardWorldPurchasesAreMostlyOfItemsCartedEarlier) {
  const GeneratorOptions o = HardSmall(13);
  const auto users = ByUser(Events(o, 150'000));
  size_t purchases = 0, of_carted = 0, with_events_between = 0, next_session = 0;
  for (const auto& [user, ev] : users) {
    std::map<std::string, size_t> carted_at;  // item -> index of its cart event
    for (size_t i = 0; i < ev.size(); ++i) {
      if (ev[i].type == "cart") carted_at.emplace(ev[i].item_id, i);
      if (ev[i].type != "purchase") continue;
      ++purchases;
      auto it = carted_at.find(ev[i].item_id);
      if (it == carted_at.end()) continue;
      ++of_carted;
      with_events_between += i - it->second >= 2;
      bool session_gap = false;
      for (size_t j = it->second + 1; j <= i; ++j) session_gap |= ev[j].ts_ms - ev[j - 1].ts_ms > 30 * 60'000;
      next_session += session_gap;
      carted_at.erase(it);
    }
  }
  ASSERT_GT(purchases, 2000u);
  const double n = static_cast<double>(purchases);
  // Buying what was carted is the most common way to buy, and (but for a
  // direct purchase that happens to pick the carted item) not right away.
  EXPECT_GT(of_carted / n, 0.6) << of_carted << " of " << purchases;
  EXPECT_GT(static_cast<double>(with_events_between), 0.98 * static_cast<double>(of_carted));
  EXPECT_LT(of_carted, purchases) << "no purchase without a cart at all";
  // Some carted items are bought in the next session.
  EXPECT_GT(next_session, of_carted / 50) << next_session << " of " << of_carted;
  EXPECT_LT(next_session, of_carted / 2);
}

TEST(Generator, HardWorldComplementsAreWeightedAndMostlyInTheDepartment) {
  const GeneratorOptions o = GeneratorOptions::Hard();
  const Generator g(o);
  const auto& comps = g.complements();
  const auto& weights = g.complement_weights();
  ASSERT_EQ(comps.size(), o.categories);
  ASSERT_EQ(weights.size(), o.categories);
  std::set<size_t> counts;
  size_t planted = 0, same_department = 0, unequal = 0;
  for (size_t c = 0; c < comps.size(); ++c) {
    ASSERT_EQ(weights[c].size(), comps[c].size());
    if (Contains(g.hubs(), c)) continue;
    counts.insert(comps[c].size());
    EXPECT_GE(comps[c].size(), o.complements_min) << c;
    EXPECT_LE(comps[c].size(), o.complements_max) << c;
    EXPECT_EQ(std::set<size_t>(comps[c].begin(), comps[c].end()).size(), comps[c].size()) << "repeats in " << c;
    double sum = 0;
    for (size_t j = 0; j < comps[c].size(); ++j) {
      EXPECT_NE(comps[c][j], c) << "a category is its own complement";
      EXPECT_GT(weights[c][j], 0);
      sum += weights[c][j];
      ++planted;
      same_department += g.department(comps[c][j]) == g.department(c);
    }
    EXPECT_NEAR(sum, 1.0, 1e-9) << c;
    const auto [lo, hi] = std::minmax_element(weights[c].begin(), weights[c].end());
    unequal += *hi > 1.5 * *lo;
  }
  EXPECT_EQ(counts, (std::set<size_t>{2, 3, 4})) << "the number of complements varies";
  EXPECT_GT(static_cast<double>(same_department) / static_cast<double>(planted), 0.7);
  EXPECT_LT(same_department, planted) << "some complements cross departments";
  EXPECT_GT(unequal, (o.categories - o.hubs) / 2) << "strengths vary";
}

TEST(Generator, HardWorldHubsHaveNoComplementsAndAreAmongTheMostPopular) {
  const GeneratorOptions o = HardSmall(17);
  const Generator g(o);
  ASSERT_EQ(g.hubs().size(), o.hubs);
  for (size_t h : g.hubs()) {
    EXPECT_TRUE(g.complements()[h].empty()) << "hub " << h;
    for (size_t c = 0; c < g.complements().size(); ++c)
      EXPECT_FALSE(Contains(g.complements()[c], h)) << c << " -> hub " << h;
  }
  const auto events = Events(o, 100'000);
  const auto counts = CategoryCounts(events, o.categories);
  std::vector<size_t> top;
  for (size_t i = 0; i < 2 * o.hubs; ++i) top.push_back(counts[i].second);
  for (size_t h : g.hubs()) EXPECT_TRUE(Contains(top, h)) << "hub " << h << " is not among the most popular";
  EXPECT_TRUE(Contains(g.hubs(), counts[0].second)) << "the most popular category is a hub";

  // Hubs follow everything: after purchases in every department, the next
  // category is sometimes a hub, though no hub is anyone's complement.
  std::vector<size_t> after_purchase(o.departments, 0), hub_next(o.departments, 0);
  for (const auto& [user, ev] : ByUser(events))
    for (size_t i = 0; i + 1 < ev.size(); ++i) {
      if (ev[i].type != "purchase") continue;
      const size_t d = g.department(CategoryIndex(ev[i].category_id));
      ++after_purchase[d];
      hub_next[d] += Contains(g.hubs(), CategoryIndex(ev[i + 1].category_id));
    }
  for (size_t d = 0; d < o.departments; ++d) {
    ASSERT_GT(after_purchase[d], 50u) << "department " << d;
    EXPECT_GT(static_cast<double>(hub_next[d]) / static_cast<double>(after_purchase[d]), 0.05) << "department " << d;
  }
}

// After a purchase in a category with complements, the user's next event is
// in one of them at about complement_follow (plus the small chance that the
// usual choice lands there), and stronger complements are chosen more often.
TEST(Generator, HardWorldPurchaseIsFollowedByAComplementAtTheFollowRate) {
  for (double follow : {0.3, 0.7}) {
    GeneratorOptions o = HardSmall(19);
    o.complement_follow = follow;
    const Generator g(o);
    size_t pairs = 0, planted = 0, strongest = 0;
    double uniform_strongest = 0;  // expected count of `strongest` were complements chosen uniformly
    for (const auto& [user, ev] : ByUser(Events(o, 200'000)))
      for (size_t i = 0; i + 1 < ev.size(); ++i) {
        if (ev[i].type != "purchase") continue;
        const size_t a = CategoryIndex(ev[i].category_id), b = CategoryIndex(ev[i + 1].category_id);
        const auto& comps = g.complements()[a];
        if (comps.empty()) continue;  // a hub
        ++pairs;
        if (!Contains(comps, b)) continue;
        ++planted;
        const auto& w = g.complement_weights()[a];
        strongest += comps[std::max_element(w.begin(), w.end()) - w.begin()] == b;
        uniform_strongest += 1.0 / static_cast<double>(comps.size());
      }
    ASSERT_GT(pairs, 2000u);
    const double rate = static_cast<double>(planted) / static_cast<double>(pairs);
    EXPECT_GT(rate, follow - 0.04) << "complement_follow " << follow << ": " << planted << " of " << pairs;
    EXPECT_LT(rate, follow + 0.08) << "complement_follow " << follow << ": " << planted << " of " << pairs;
    EXPECT_GT(static_cast<double>(strongest), 1.2 * uniform_strongest) << "complement_follow " << follow;
  }
}

}  // namespace
}  // namespace recstream::app
