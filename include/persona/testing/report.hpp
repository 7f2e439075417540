#ifndef PERSONA_TESTING_REPORT_HPP
#define PERSONA_TESTING_REPORT_HPP

/// @file
/// `conformance_report`: what a conformance kit found, independent of any test framework.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona::testing {

/** The outcome of a conformance kit: how many checks ran and which failed.

    Kits never throw on a failed check and never depend on a test framework, so the
    same kit runs under Catch2, GoogleTest or a plain `main`:
    @code
    persona::testing::conformance_report r = persona::testing::check_store(my_store);
    if (!r.ok()) { std::cerr << r.to_string(); return 1; }
    @endcode
*/
struct conformance_report {
    /// Start an empty report for the kit named `kit_name`.
    explicit conformance_report(std::string kit_name = {}) : kit(std::move(kit_name)) {}

    std::string kit;                   ///< which kit ran
    std::size_t checks = 0;            ///< checks evaluated
    std::vector<std::string> failures; ///< one line per failed check

    /// Return true when no check failed.
    bool ok() const noexcept { return failures.empty() && checks > 0; }

    /// Record one check: `condition` must hold; `what` says what it means.
    bool expect(bool condition, std::string_view what) {
        ++checks;
        if (!condition) failures.emplace_back(what);
        return condition;
    }

    /// Return a human-readable account, one failure per line.
    std::string to_string() const {
        std::string out = kit + ": " + std::to_string(checks) + " checks, " + std::to_string(failures.size()) + " failed\n";
        for (auto const& f : failures) out += "  FAILED: " + f + "\n";
        return out;
    }
};

} // namespace persona::testing

#endif
