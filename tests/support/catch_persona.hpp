#ifndef PERSONA_TESTS_SUPPORT_CATCH_PERSONA_HPP
#define PERSONA_TESTS_SUPPORT_CATCH_PERSONA_HPP

// How Catch2 prints persona results in failure messages. Boost's own operator<< for
// result<T> is not SFINAE-friendly and fails for types without one, so every test
// TU gets this through the precompiled header.

#include <persona/error.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, persona::error>> {
    static std::string convert(boost::system::result<T, persona::error> const& r) {
        if (r) return "{ok}";
        return "{error " + std::string(persona::to_string(r.error().code)) + ": " + r.error().message + "}";
    }
};
} // namespace Catch

#endif
