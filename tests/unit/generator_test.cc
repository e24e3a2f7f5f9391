// Unit tests of app/generator: deterministic for a seed, events in the input
// schema (read back with the pipeline's own parser), and the planted
// structure (complement categories) actually present in the stream.
#include "app/generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
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

TEST(Generator, EventsMatchTheInputSchema) {
  const GeneratorOptions o = Small(3);
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

}  // namespace
}  // namespace recstream::app
