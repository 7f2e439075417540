#ifndef PERSONA_LLM_ANSWERER_HPP
#define PERSONA_LLM_ANSWERER_HPP

/// @file
/// `llm_answerer<Transport>`: grounded answers written by an OpenAI-compatible chat model
/// (`/v1/chat/completions`: OpenAI, or a local llama.cpp, vLLM or Ollama server).

#include <persona/concepts.hpp>
#include <persona/detail/evidence_text.hpp>
#include <persona/detail/openai_wire.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/json.hpp>
#include <persona/traits.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona {

/** Answers with a chat model, from the evidence only, citing chunk ids. Models `answerer`.

    One request per answer: `POST <path>` (default `/v1/chat/completions`) with
    `{"model", "messages": [system, user], "temperature": 0}` (and `max_tokens` when set),
    `Authorization: Bearer <api_key>` unless the key is empty. The system message tells
    the model to answer only from the evidence, to cite the ids of the excerpts it uses
    in square brackets (`[e12#s1]`), to prefer newer evidence, and to say plainly when
    the evidence does not answer. The user message holds the user's name, profile
    traits and purpose, then each piece of evidence on one line as
    `[<chunk id>] (<type> "<title>", <date>) <text>`, best first, then the question.

    The result is the reply (`choices[0].message.content`, a leading `<think>` block of
    reasoning models removed) as `text`, and as `sources` the chunk ids it cites in
    brackets that are among the evidence (in order of first citation, with their
    retrieval scores); invented ids are ignored.

    With options (decision prediction) the options are listed by number and the model is
    asked to start its reply with the line `choice: <number>`. That line is read
    strictly (nothing else on it, a number below the number of options); the rest of
    the reply is `text`, `option_scores` is 1 for the chosen option and 0 for the others.
    A reply that does not start that way gets the fallback's answer, unchanged.

    Without evidence (none scoring `min_evidence_score` or more) the model is not called:
    the fallback `extractive_answerer` answers, as it does when it has none (from the
    profile if a trait answers the question, else "I don't have enough information…").
    A reply with no content also gets the fallback's answer.

    Determinism is the service's: temperature 0 is the most a request can ask for, and
    the request is the same for the same context. The engine's answer cache
    (`use_cache`) makes a repeated question cost no call.

    @par Errors
    `errc::unavailable` (safe to retry): the service cannot be reached or timed out (the
    transport's timeout), or answered 408, 409, 429 or 5xx.
    `errc::internal_error` (the deployment is misconfigured): 401/403 (the key), any
    other 4xx (an unknown model, a prompt over the context length), 429
    `insufficient_quota`, a body without `choices[0].message`. Messages name the
    service, the HTTP status and the service's own error message.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe. Each `answer` borrows one of the
    object's transports for its request; give the constructor several (a pool) for
    requests in parallel.

    @tparam Transport a model of `transport`, e.g. `persona::http::beast_transport`.
*/
template <transport Transport>
class llm_answerer {
public:
    /// The model, the endpoint and the prompt's limits.
    struct options {
        std::string model = "gpt-4o-mini";          ///< the `model` member of each request
        std::string path = "/v1/chat/completions";  ///< request target, below the transport's base URL
        std::string api_key;                        ///< sent as `Authorization: Bearer <key>`; empty: not sent
        std::vector<http_field> extra_fields;       ///< more header fields, e.g. `OpenAI-Organization`
        std::size_t max_evidence = 8;               ///< pieces of evidence put in the prompt, best first
        std::size_t max_evidence_chars = 1200;      ///< longer evidence texts are cut at a word boundary
        double min_evidence_score = 0.05;           ///< evidence scoring less is left out
        std::size_t max_tokens = 0;                 ///< `max_tokens` of the request; 0: not sent
        std::string system_prompt;                  ///< replaces the built-in instructions when not empty
        extractive_answerer::options fallback{};    ///< the fallback answerer's tuning
    };

    /** Answer over `t` with `o`; sends nothing.

        @throws std::invalid_argument when `o.model` is empty or `o.max_evidence` is 0.
    */
    explicit llm_answerer(Transport t, options o = {}) : llm_answerer(one(std::move(t)), std::move(o)) {}

    /** Answer over a pool of transports (one request in flight per transport) with `o`.

        @throws std::invalid_argument as the other constructor, or when `pool` is empty.
    */
    explicit llm_answerer(std::vector<Transport> pool, options o = {})
        : options_(std::move(o)), pool_(std::move(pool)), fallback_(options_.fallback) {
        if (options_.model.empty()) throw std::invalid_argument("llm_answerer: options::model must be set");
        if (options_.max_evidence == 0) throw std::invalid_argument("llm_answerer: options::max_evidence must be at least 1");
    }

    /// The options.
    options const& get_options() const noexcept { return options_; }

    /// The built-in system message (used when `options::system_prompt` is empty).
    static std::string_view default_system_prompt() noexcept {
        return "You answer questions about one person, a user of an application, for the assistant that serves "
               "them. Use only the profile and the evidence in the user message: excerpts of what the person wrote, "
               "said or did, each introduced by its id in square brackets, with its type and date.\n"
               "Rules:\n"
               "- Answer in one to three sentences, about the person in the third person.\n"
               "- After each statement taken from an excerpt, cite that excerpt's id in square brackets, for "
               "example [e12#s1]. Cite only ids that appear in the evidence.\n"
               "- Where excerpts disagree, prefer the most recent one.\n"
               "- If the profile and the evidence do not answer the question, say so plainly. Do not guess.";
    }

    /** The request body `answer` sends for `ctx` (also for logging and tests).

        @returns `{"model", "messages": [{"role":"system",...}, {"role":"user",...}],
        "temperature": 0}`, plus `max_tokens` when set.
    */
    boost::json::object request_body(answer_context const& ctx) const { return make_body(ctx, select(ctx.evidence)); }

    /** Answer `ctx.question` about `ctx.user` from `ctx.evidence` with the chat model.

        @returns the answer, or an error as the class documents.
    */
    [[nodiscard]] result<persona::answer> answer(answer_context const& ctx) const {
        auto const ev = select(ctx.evidence);
        if (ev.empty()) return fallback_.answer(answer_context{ctx.question, ctx.user, {}, ctx.options});

        auto const req = detail::openai_post({service, options_.path, options_.api_key, options_.extra_fields},
                                             persona::serialize(make_body(ctx, ev)));
        result<boost::json::value> reply = detail::call_service(pool_, service, req);
        if (!reply) return reply.error();
        auto content = read_content(*reply);
        if (!content) return content.error();
        std::string text = trim(strip_thinking(*content));
        if (text.empty()) return fallback_.answer(ctx);

        persona::answer out;
        if (!ctx.options.empty()) {
            auto const newline = text.find('\n');
            auto const choice = parse_choice(std::string_view(text).substr(0, newline), ctx.options.size());
            if (!choice) return fallback_.answer(ctx);
            out.choice = *choice;
            out.option_scores.assign(ctx.options.size(), 0.0);
            out.option_scores[*choice] = 1.0;
            text = newline == std::string::npos ? std::string() : trim(std::string_view(text).substr(newline + 1));
            if (text.empty())
                text = detail::display_name(ctx.user) + " would most likely pick \"" + ctx.options[*choice] + "\".";
        }
        out.sources = cited_sources(text, ev);
        out.text = std::move(text);
        return out;
    }

private:
    static constexpr std::string_view service = "the chat service";

    static std::vector<Transport> one(Transport t) {
        std::vector<Transport> v;
        v.push_back(std::move(t));
        return v;
    }

    static std::string trim(std::string_view s) {
        auto const b = s.find_first_not_of(" \t\r\n");
        if (b == std::string_view::npos) return {};
        auto const e = s.find_last_not_of(" \t\r\n");
        return std::string(s.substr(b, e - b + 1));
    }

    /// The evidence that goes into the prompt: good enough, at most `max_evidence`, best first.
    std::vector<evidence> select(std::span<evidence const> all) const {
        std::vector<evidence> out;
        for (auto const& e : all) {
            if (out.size() == options_.max_evidence) break;
            if (e.score >= options_.min_evidence_score) out.push_back(e);
        }
        return out;
    }

    /// One line: white space runs collapsed, cut at a word boundary after `max_evidence_chars`.
    std::string one_line(std::string_view s) const {
        std::string out;
        bool space = false;
        for (char c : s) {
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
                space = !out.empty();
                continue;
            }
            if (space) out += ' ';
            space = false;
            out += c;
        }
        if (out.size() > options_.max_evidence_chars) {
            auto cut = out.rfind(' ', options_.max_evidence_chars);
            if (cut == std::string::npos || cut == 0) cut = options_.max_evidence_chars;
            out = detail::clip_utf8(out, cut); // appends "..."
        }
        return out;
    }

    std::string user_message(answer_context const& ctx, std::span<evidence const> ev) const {
        std::string const name = detail::display_name(ctx.user);
        std::string m = "Person: " + one_line(name) + "\n";
        auto const traits = flatten_traits(ctx.user.traits);
        if (!traits.empty()) {
            m += "Profile:\n";
            for (auto const& t : traits) m += "- " + one_line(t.path) + ": " + one_line(t.value) + "\n";
        }
        if (!ctx.user.purpose.empty()) m += "Purpose of the application: " + one_line(ctx.user.purpose) + "\n";
        m += "\nEvidence (most relevant first):\n";
        for (auto const& e : ev)
            m += "[" + e.chunk.chunk_id + "] (" + one_line(detail::citation(e.chunk)) + ") " + one_line(e.chunk.text) + "\n";
        m += "\nQuestion: " + one_line(ctx.question) + "\n";
        if (!ctx.options.empty()) {
            m += "\nOptions:\n";
            for (std::size_t i = 0; i < ctx.options.size(); ++i)
                m += std::to_string(i) + ": " + one_line(ctx.options[i]) + "\n";
            m += "\nWhich option would " + one_line(name) +
                 " most likely pick? Reply with a first line of exactly \"choice: <number>\" (the option's number), "
                 "then one or two sentences saying why, citing the evidence ids in square brackets.\n";
        }
        return m;
    }

    boost::json::object make_body(answer_context const& ctx, std::span<evidence const> ev) const {
        boost::json::object body;
        body["model"] = options_.model;
        boost::json::array messages;
        messages.push_back(boost::json::object{
            {"role", "system"},
            {"content", options_.system_prompt.empty() ? default_system_prompt() : std::string_view(options_.system_prompt)}});
        messages.push_back(boost::json::object{{"role", "user"}, {"content", user_message(ctx, ev)}});
        body["messages"] = std::move(messages);
        body["temperature"] = 0;
        if (options_.max_tokens != 0) body["max_tokens"] = options_.max_tokens;
        return body;
    }

    static result<std::string> read_content(boost::json::value const& reply) {
        auto const bad = [](std::string what) {
            return make_error(errc::internal_error, std::string(service) + " sent an unexpected response: " + std::move(what));
        };
        auto const* root = reply.if_object();
        auto const* choices = root ? root->if_contains("choices") : nullptr;
        if (!choices || !choices->is_array()) return bad("no \"choices\" array");
        if (choices->get_array().empty()) return bad("\"choices\" is empty");
        auto const* first = choices->get_array()[0].if_object();
        auto const* message = first ? first->if_contains("message") : nullptr;
        if (!message || !message->is_object()) return bad("choices[0] has no message");
        auto const* content = message->get_object().if_contains("content");
        if (!content || content->is_null()) return std::string(); // e.g. a refusal: the fallback answers
        if (!content->is_string()) return bad("choices[0].message.content is not a string");
        return std::string(content->get_string());
    }

    /// Reasoning models served locally (DeepSeek-R1 on Ollama, say) put their thoughts first.
    static std::string_view strip_thinking(std::string_view s) {
        auto const start = s.find_first_not_of(" \t\r\n");
        if (start == std::string_view::npos || s.substr(start).substr(0, 7) != "<think>") return s;
        auto const end = s.find("</think>", start);
        return end == std::string_view::npos ? std::string_view() : s.substr(end + 8);
    }

    /// `choice: N` alone on the line (any case, spaces around), N < n.
    static std::optional<std::size_t> parse_choice(std::string_view line, std::size_t n) {
        std::string const l = trim(line);
        constexpr std::string_view key = "choice:";
        if (l.size() <= key.size()) return std::nullopt;
        for (std::size_t i = 0; i < key.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(l[i])) != key[i]) return std::nullopt;
        std::string_view digits = std::string_view(l).substr(key.size());
        digits.remove_prefix(std::min(digits.find_first_not_of(' '), digits.size()));
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        std::size_t v = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<std::size_t>(c - '0');
        }
        if (v >= n) return std::nullopt;
        return v;
    }

    /// The evidence ids cited in brackets (`[a]`, `[a, b]`, `[a; b]`), first citation first.
    static std::vector<source_ref> cited_sources(std::string_view text, std::span<evidence const> ev) {
        std::vector<source_ref> out;
        auto const cite = [&](std::string_view id) {
            auto const t = trim(id);
            if (t.empty()) return false;
            auto const it = std::ranges::find_if(ev, [&](evidence const& e) { return e.chunk.chunk_id == t; });
            if (it == ev.end()) return false;
            if (std::ranges::none_of(out, [&](source_ref const& s) { return s.chunk_id == t; }))
                out.push_back({t, it->score});
            return true;
        };
        for (std::size_t open = text.find('['); open != std::string_view::npos; open = text.find('[', open + 1)) {
            auto const close = text.find(']', open + 1);
            if (close == std::string_view::npos) break;
            auto const inside = text.substr(open + 1, close - open - 1);
            if (cite(inside)) continue; // an id that itself holds a comma or semicolon
            std::size_t begin = 0;
            while (begin <= inside.size()) {
                auto const end = std::min(inside.find_first_of(",;", begin), inside.size());
                cite(inside.substr(begin, end - begin));
                begin = end + 1;
            }
        }
        return out;
    }

    options options_;
    detail::transport_pool<Transport> pool_;
    extractive_answerer fallback_;
};

static_assert(answerer<llm_answerer<detail::transport_archetype>>);

} // namespace persona

#endif
