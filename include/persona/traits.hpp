#ifndef PERSONA_TRAITS_HPP
#define PERSONA_TRAITS_HPP

/// @file
/// Operations on a user's traits: the deep merge of `/register` and flattening for text.

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <utility>
#include <vector>

namespace persona {

/** Deep-merge `patch` into `target` with API.md's `/register` semantics.

    Nested objects merge key by key; arrays and scalars replace; keys not in `patch`
    are kept; a key whose patch value is `null` is removed. Merging the same patch
    twice gives the same result as once.

    @returns `true` when `target` changed.
*/
inline bool merge_traits(boost::json::object& target, boost::json::object const& patch) {
    bool changed = false;
    for (auto const& [key, value] : patch) {
        if (value.is_null()) {
            changed |= target.erase(key) != 0;
            continue;
        }
        auto* existing = target.if_contains(key);
        if (value.is_object()) {
            if (existing == nullptr || !existing->is_object()) {
                boost::json::object fresh;
                merge_traits(fresh, value.get_object()); // strips nulls inside a new object
                target[key] = std::move(fresh);
                changed = true;
            } else {
                changed |= merge_traits(existing->get_object(), value.get_object());
            }
            continue;
        }
        if (existing == nullptr || *existing != value) {
            target[key] = value;
            changed = true;
        }
    }
    return changed;
}

/** One trait as a dotted path and a display value, e.g. `{"prefs.tone", "concise"}`. */
struct flat_trait {
    std::string path;
    std::string value;
};

/** Flatten `traits` into dotted paths in key order; strings unquoted, arrays joined by ", ". */
inline std::vector<flat_trait> flatten_traits(boost::json::object const& traits, std::string const& prefix = {}) {
    std::vector<flat_trait> out;
    for (auto const& [key, value] : traits) {
        std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
        if (value.is_object()) {
            auto nested = flatten_traits(value.get_object(), path);
            out.insert(out.end(), std::make_move_iterator(nested.begin()), std::make_move_iterator(nested.end()));
        } else if (value.is_string()) {
            out.push_back({std::move(path), std::string(value.get_string())});
        } else if (value.is_array()) {
            std::string joined;
            for (auto const& e : value.get_array()) {
                if (!joined.empty()) joined += ", ";
                joined += e.is_string() ? std::string(e.get_string()) : boost::json::serialize(e);
            }
            out.push_back({std::move(path), std::move(joined)});
        } else {
            out.push_back({std::move(path), boost::json::serialize(value)});
        }
    }
    return out;
}

} // namespace persona

#endif
