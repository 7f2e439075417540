#ifndef PERSONA_PROTOCOL_RESPONSE_HPP
#define PERSONA_PROTOCOL_RESPONSE_HPP

/// @file
/// Building wire responses: JSON bodies and API.md's error body, in one place.

#include <persona/error.hpp>
#include <persona/http_message.hpp>
#include <persona/json.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace persona::protocol {

/** Who is on the other end of a request, as the transport saw it. */
struct connection_info {
    std::string remote_address;      ///< peer address, e.g. `127.0.0.1`
    bool remote_is_loopback = false; ///< the peer is on this machine (127.0.0.0/8 or ::1)
};

/** A response with `json`, a serialised JSON body, and `Content-Type: application/json`. */
inline http_response json_text_response(int status, std::string json) {
    http_response r;
    r.status = status;
    r.fields.push_back({"Content-Type", "application/json"});
    r.body = std::move(json);
    return r;
}

/** A response with `body` serialised as its JSON body, and `Content-Type: application/json`. */
inline http_response json_response(int status, boost::json::value const& body) {
    return json_text_response(status, persona::serialize(body));
}

/** The response for `e`: API.md's status for its code and the body
    `{"code", "message", "details"}`. */
inline http_response error_response(error const& e) { return json_response(http_status(e.code), to_json(e)); }

} // namespace persona::protocol

#endif
