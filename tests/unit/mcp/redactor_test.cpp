// The redactor: each built-in detector on positives and near misses, the validators (Luhn, mod
// 97, SSN rules), property tests over random text with planted values, custom RE2 patterns and
// use from many threads at once.
#include "mcp/redactor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>

#include "mcp/pii_gen.h"

namespace pc::mcp {
namespace {

using testing::PiiGen;

core::RedactionConfig all_builtins() {
  core::RedactionConfig c;
  c.builtin = Redactor::builtin_kinds();
  return c;
}

const Redactor& all() {
  static const Redactor r(all_builtins());
  return r;
}

const Redactor& only(const std::string& kind) {
  static std::map<std::string, std::unique_ptr<Redactor>> cache;
  auto& r = cache[kind];
  if (!r) {
    core::RedactionConfig c;
    c.builtin = {kind};
    r = std::make_unique<Redactor>(c);
  }
  return *r;
}

std::string red(const std::string& kind) { return "[REDACTED:" + kind + "]"; }

// `value` embedded in a sentence is replaced by exactly one marker of `kind`, by the full set of
// detectors and by that detector alone.
void expect_redacted(const std::string& kind, const std::string& value, const std::string& shown = "") {
  const std::string text = "before " + value + " after";
  const std::string want = "before " + (shown.empty() ? red(kind) : shown) + " after";
  std::map<std::string, std::uint64_t> counts;
  EXPECT_EQ(all().redact_copy(text, &counts), want) << kind << ": " << value;
  EXPECT_EQ(counts[kind], 1u) << kind << ": " << value;
  EXPECT_EQ(only(kind).redact_copy(text), want) << kind << " alone: " << value;
}

void expect_kept(const std::string& kind, const std::string& value) {
  const std::string text = "before " + value + " after";
  EXPECT_EQ(only(kind).redact_copy(text), text) << kind << " should keep: " << value;
}

TEST(Redactor, KindsAndDefaults) {
  EXPECT_EQ(Redactor::builtin_kinds().size(), 11u);
  const core::RedactionConfig defaults;
  for (const auto& k : defaults.builtin)
    EXPECT_NE(std::find(Redactor::builtin_kinds().begin(), Redactor::builtin_kinds().end(), k),
              Redactor::builtin_kinds().end())
        << k;
  const Redactor r(defaults);
  EXPECT_EQ(r.kinds().size(), defaults.builtin.size());
}

TEST(Redactor, RejectsUnknownKindsAndBadPatterns) {
  core::RedactionConfig c;
  c.builtin = {"email", "passport"};
  EXPECT_THROW(Redactor{c}, std::invalid_argument);
  c.builtin = {};
  c.custom = {{"ticket", "T-[0-9"}};
  try {
    Redactor r(c);
    FAIL() << "a bad pattern compiled";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ticket"), std::string::npos);
  }
  c.custom = {{"email", "x+"}};
  EXPECT_THROW(Redactor{c}, std::invalid_argument);
}

TEST(Redactor, NothingFoundAllocatesNothing) {
  Redactor::Counts counts;
  EXPECT_FALSE(all().redact("a perfectly ordinary sentence, with 12 words and 3 numbers.", counts));
  EXPECT_FALSE(all().redact("", counts));
}

TEST(Redactor, Email) {
  expect_redacted("email", "john.doe@example.com");
  expect_redacted("email", "a+tag@mail.example.co.uk");
  expect_redacted("email", "X_Y-z%1@sub-domain.example.org");
  EXPECT_EQ(all().redact_copy("<john@example.com>,"), "<" + red("email") + ">,");
  expect_kept("email", "john@localhost");
  expect_kept("email", "@example.com");
  expect_kept("email", "a@b");
  expect_kept("email", "user@example.c");
}

TEST(Redactor, Phone) {
  expect_redacted("phone", "+44 20 7946 0958");
  expect_redacted("phone", "+1-202-555-0143");
  expect_redacted("phone", "(202) 555-0143");
  expect_redacted("phone", "202-555-0143");
  expect_redacted("phone", "202.555.0143");
  expect_redacted("phone", "020 7946 0958");
  expect_redacted("phone", "+33 (1) 23 45 67 89");
  expect_kept("phone", "2024-01-15");
  expect_kept("phone", "12:30:45");
  expect_kept("phone", "+12 34");             // too few digits
  expect_kept("phone", "102-555-0143");       // area code starts with 1
  expect_kept("phone", "ref 202-555-0143-77");  // part of a longer dashed number
  expect_kept("phone", "v1.2.3.4567");
}

TEST(Redactor, CreditCardLuhn) {
  expect_redacted("credit_card", "4111 1111 1111 1111");
  expect_redacted("credit_card", "4111-1111-1111-1111");
  expect_redacted("credit_card", "4111111111111111");
  expect_redacted("credit_card", "5500 0000 0000 0004");
  expect_redacted("credit_card", "3782 822463 10005");  // Amex 4-6-5
  expect_redacted("credit_card", "6011111111111117");
  // A card after another number, and followed by an expiry, is still found.
  EXPECT_EQ(only("credit_card").redact_copy("qty 12 4111 1111 1111 1111 12/27"),
            "qty 12 " + red("credit_card") + " 12/27");
  EXPECT_EQ(only("credit_card").redact_copy("4111 1111 1111 1111 22"), red("credit_card") + " 22");
  expect_kept("credit_card", "4111 1111 1111 1112");  // Luhn fails
  expect_kept("credit_card", "4111111111111112");
  expect_kept("credit_card", "1111 1111 1111 1117");  // Luhn-valid, but no card network starts with 1
  expect_kept("credit_card", "411111111111");         // 12 digits
  expect_kept("credit_card", "41111111111111111111111");  // 23 digits: not a card
  expect_kept("credit_card", "x4111111111111111");        // glued to a word
  expect_kept("credit_card", "4111  1111  1111  1111");   // double separators
}

TEST(Redactor, IbanMod97) {
  expect_redacted("iban", "GB82 WEST 1234 5698 7654 32");
  expect_redacted("iban", "GB82WEST12345698765432");
  expect_redacted("iban", "DE89370400440532013000");
  expect_redacted("iban", "FR1420041010050500013M02606");
  expect_redacted("iban", "NO9386011117947");
  expect_kept("iban", "GB83 WEST 1234 5698 7654 32");  // mod 97 fails
  expect_kept("iban", "GB82WEST1234569876543");        // wrong length for GB
  expect_kept("iban", "GB82WEST12345698765432X");      // glued
  expect_kept("iban", "DE89370400440532013001");
}

TEST(Redactor, UsSsn) {
  expect_redacted("us_ssn", "123-45-6789");
  expect_redacted("us_ssn", "078-05-1120");
  expect_redacted("us_ssn", "123 45 6789");
  for (const char* bad : {"000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000",
                          "1123-45-6789", "123-45-67890", "9-123-45-6789"})
    expect_kept("us_ssn", bad);
}

TEST(Redactor, UkNino) {
  expect_redacted("uk_nino", "AB123456C");
  expect_redacted("uk_nino", "AB 12 34 56 C");
  expect_redacted("uk_nino", "JG103759A");
  for (const char* bad : {"GB123456A", "DA123456A", "AO123456A", "AB123456E", "AB12345C", "XAB123456C"})
    expect_kept("uk_nino", bad);
}

TEST(Redactor, IpAddress) {
  expect_redacted("ip_address", "192.168.1.10");
  expect_redacted("ip_address", "8.8.8.8");
  expect_redacted("ip_address", "2001:db8::8a2e:370:7334");
  expect_redacted("ip_address", "2001:0db8:85a3:0000:0000:8a2e:0370:7334");
  expect_redacted("ip_address", "fe80::1ff:fe23:4567:890a");
  EXPECT_EQ(only("ip_address").redact_copy("host 10.0.0.1."), "host " + red("ip_address") + ".");
  for (const char* bad : {"999.1.1.1", "1.2.3.4.5", "1.2.3", "01.2.3.4", "12:30:45", "::1", "a:b::", "v1.2.3.4x"})
    expect_kept("ip_address", bad);
}

TEST(Redactor, AwsKeys) {
  const std::string id = std::string("AK") + "IAIOSFODNN7EXAMPLE";
  expect_redacted("aws_key", id);
  expect_redacted("aws_key", std::string("AS") + "IAY34FZKBOKMUTVV7A");
  const std::string secret = std::string("wJalrXUtnFEMI/K7MDENG/") + "bPxRfiCYEXAMPLEKEY";
  EXPECT_EQ(only("aws_key").redact_copy("aws_secret_access_key = " + secret + "\n"),
            "aws_secret_access_key = " + red("aws_key") + "\n");
  EXPECT_EQ(only("aws_key").redact_copy("{\"SecretAccessKey\": \"" + secret + "\"}"),
            "{\"SecretAccessKey\": \"" + red("aws_key") + "\"}");
  expect_kept("aws_key", std::string("AK") + "IAIOSFODNN7EXAMPL");    // 15 after the prefix
  expect_kept("aws_key", std::string("AK") + "IAIOSFODNN7EXAMPLEX");  // 17
  expect_kept("aws_key", std::string("AB") + "CDIOSFODNN7EXAMPLE");
  expect_kept("aws_key", secret);  // a bare 40-char string is not recognisable
}

TEST(Redactor, Jwt) {
  PiiGen g(1);
  const std::string token = g.jwt();
  expect_redacted("jwt", token);
  expect_redacted("jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");  // alg none: empty signature
  EXPECT_EQ(only("jwt").redact_copy("Bearer " + token + "."), "Bearer " + red("jwt") + ".");
  expect_kept("jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0");  // two segments
  expect_kept("jwt", "eyJub3Rqc29u.eyJzdWIiOiJ4In0.abc");     // header is not a JSON object
  expect_kept("jwt", "eyJhbGciOiJub25lIn0.a.b.c");            // four segments
}

TEST(Redactor, PrivateKey) {
  const std::string key =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
      "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----";
  expect_redacted("private_key", key);
  expect_redacted("private_key", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----");
  expect_redacted("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----");
  expect_redacted("private_key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----");
  // Cut off: redacted to the end of the text.
  EXPECT_EQ(only("private_key").redact_copy("key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE"),
            "key: " + red("private_key"));
  expect_kept("private_key", "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----");
  expect_kept("private_key", "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----");
}

TEST(Redactor, ApiKeys) {
  PiiGen g(2);
  expect_redacted("api_key", "gh" "p_" + g.alnum(36));
  expect_redacted("api_key", "gh" "s_" + g.alnum(36));
  expect_redacted("api_key", "github" "_pat_" + g.alnum(22) + "_" + g.alnum(59));
  expect_redacted("api_key", "gl" "pat-" + g.alnum(20));
  expect_redacted("api_key", "xo" "xb-" + g.digits(12) + "-" + g.alnum(24));
  expect_redacted("api_key", "sk" "_live_" + g.alnum(24));
  expect_redacted("api_key", "rk" "_test_" + g.alnum(24));
  expect_redacted("api_key", "AI" "za" + g.alnum(35));
  expect_redacted("api_key", "sk" "-proj-" + g.alnum(40));
  expect_redacted("api_key", "sk" "-ant-api03-" + g.alnum(40));
  expect_redacted("api_key", "npm" "_" + g.alnum(36));
  expect_redacted("api_key", "SG." + g.alnum(22) + "." + g.alnum(43));
  expect_kept("api_key", "gh" "p_" + g.alnum(20));   // too short
  expect_kept("api_key", "pk" "_live_" + g.alnum(24));  // Stripe publishable keys are public
  expect_kept("api_key", "task-" + g.alnum(30));
  expect_kept("api_key", "xgh" "p_" + g.alnum(36));  // glued to a word
}

TEST(Redactor, OverlapsMergeToTheMostSpecificKind) {
  // An e-mail whose local part looks like a phone number is one span.
  std::map<std::string, std::uint64_t> counts;
  EXPECT_EQ(all().redact_copy("mail 202-555-0143@example.com now", &counts), "mail " + red("email") + " now");
  EXPECT_EQ(counts.size(), 1u);
  // Two values side by side stay two markers.
  counts.clear();
  EXPECT_EQ(all().redact_copy("a@example.com 123-45-6789", &counts), red("email") + " " + red("us_ssn"));
  EXPECT_EQ(counts["email"], 1u);
  EXPECT_EQ(counts["us_ssn"], 1u);
}

TEST(Redactor, CustomPatterns) {
  core::RedactionConfig c;
  c.builtin = {"email"};
  c.custom = {{"ticket", "TCK-[0-9]+"}, {"empty_ok", "z*"}};
  const Redactor r(c);
  std::map<std::string, std::uint64_t> counts;
  EXPECT_EQ(r.redact_copy("see TCK-123 and TCK-9, mail a@example.com", &counts),
            "see [REDACTED:ticket] and [REDACTED:ticket], mail " + red("email"));
  EXPECT_EQ(counts["ticket"], 2u);
  EXPECT_EQ(counts["email"], 1u);
  EXPECT_EQ(r.redact_copy("zz top"), "[REDACTED:empty_ok] top");  // empty matches are skipped, not looped on
}

TEST(Redactor, NoDetectorsIsIdentity) {
  core::RedactionConfig c;
  c.builtin = {};
  const Redactor r(c);
  EXPECT_EQ(r.redact_copy("a@example.com 4111 1111 1111 1111"), "a@example.com 4111 1111 1111 1111");
}

TEST(Redactor, FaultHookPropagates) {
  core::RedactionConfig c;
  Redactor r(c);
  r.set_fault_hook_for_test([](std::string_view) { throw std::runtime_error("detector broke"); });
  Redactor::Counts counts;
  EXPECT_THROW(r.redact("x", counts), std::runtime_error);
}

// ---- property tests

TEST(RedactorProperty, PlantedValuesOfEveryKindAreAlwaysRedacted) {
  PiiGen g(20261205);
  const auto& kinds = Redactor::builtin_kinds();
  for (int round = 0; round < 400; ++round) {
    std::string text;
    std::vector<std::pair<std::string, std::string>> planted;  // kind, value
    std::map<std::string, std::uint64_t> want;
    for (int i = 0; i < g.uniform(1, 8); ++i) {
      text += g.clean_words(g.uniform(0, 12));
      const std::string kind = kinds[std::size_t(g.uniform(0, int(kinds.size()) - 1))];
      const std::string value = g.of_kind(kind);
      text += (text.empty() ? "" : " ") + value + " ";
      planted.emplace_back(kind, value);
      ++want[kind];
    }
    text += g.clean_words(g.uniform(0, 12));
    std::map<std::string, std::uint64_t> counts;
    const std::string out = all().redact_copy(text, &counts);
    for (const auto& [kind, value] : planted) {
      const std::string secret = kind == "aws_key" ? g.aws_secret_only(value) : value;
      ASSERT_EQ(out.find(secret), std::string::npos) << kind << " leaked: " << value << "\nin: " << text;
    }
    ASSERT_EQ(counts, want) << "text: " << text << "\nout: " << out;
  }
}

TEST(RedactorProperty, CleanTextIsUnchanged) {
  PiiGen g(7);
  for (int round = 0; round < 300; ++round) {
    const std::string text = g.clean_words(g.uniform(1, 200));
    Redactor::Counts counts;
    ASSERT_FALSE(all().redact(text, counts)) << text << "\n→ " << all().redact_copy(text);
  }
}

TEST(RedactorProperty, DigitRunsFailingLuhnAreNotRedacted) {
  PiiGen g(11);
  for (int round = 0; round < 2000; ++round) {
    const std::string d = g.luhn_failing_digits(g.uniform(13, 19));
    ASSERT_FALSE(PiiGen::luhn_ok(d));
    const std::string text = "card " + (d.size() == 16 && g.uniform(0, 1) ? PiiGen::group(d, {4, 4, 4, 4}, ' ') : d) + " end";
    ASSERT_EQ(only("credit_card").redact_copy(text), text) << d;
  }
  // And their Luhn-valid twins are.
  for (int round = 0; round < 500; ++round) {
    const std::string d = g.card_digits(std::to_string(g.uniform(2, 6)), g.uniform(13, 19));
    ASSERT_EQ(only("credit_card").redact_copy("card " + d + " end"), "card " + red("credit_card") + " end") << d;
  }
}

TEST(RedactorProperty, IbansFailingMod97AreNotRedacted) {
  PiiGen g(13);
  for (int round = 0; round < 2000; ++round) {
    const std::string bad = g.iban(false);
    const std::string text = "iban " + bad + " end";
    ASSERT_EQ(only("iban").redact_copy(text), text) << bad;
    const std::string good = g.iban(true);
    ASSERT_EQ(only("iban").redact_copy("iban " + good + " end"), "iban " + red("iban") + " end") << good;
  }
}

TEST(Redactor, ManyThreadsShareOneRedactor) {
  PiiGen g(99);
  std::vector<std::string> texts;
  std::vector<std::string> expected;
  for (int i = 0; i < 64; ++i) {
    texts.push_back(g.clean_words(30) + " " + g.email() + " " + g.credit_card() + " " + g.jwt() + " " +
                    g.clean_words(30));
    expected.push_back(all().redact_copy(texts.back()));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      // A second Redactor on the same thread: each gets its own scratch.
      core::RedactionConfig c;
      c.builtin = {"email"};
      const Redactor mine(c);
      for (int i = 0; i < 500; ++i) {
        const std::size_t k = std::size_t(i * 7 + t) % texts.size();
        if (all().redact_copy(texts[k]) != expected[k]) ++mismatches;
        if (mine.redact_copy("x a@example.com") != "x " + red("email")) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Redactor, ManyRedactorsOnOneThreadEvictScratchSafely) {
  core::RedactionConfig c;
  c.builtin = {"email", "us_ssn"};
  for (int i = 0; i < 40; ++i) {
    const Redactor r(c);
    EXPECT_EQ(r.redact_copy("a@example.com 123-45-6789"), red("email") + " " + red("us_ssn"));
  }
  EXPECT_EQ(all().redact_copy("b@example.com"), red("email"));
}

}  // namespace
}  // namespace pc::mcp
