// Shared helpers of the issue 7 benchmarks (bench/ingest.cpp, retrieval.cpp, scan.cpp,
// http.cpp, memory.cpp): timing and percentiles, resident memory, the synthetic text,
// command-line parsing, a child process and its CPU time. Not a benchmark itself.
#ifndef PERSONA_BENCH_COMMON_HPP
#define PERSONA_BENCH_COMMON_HPP

#include <persona/api.hpp>
#include <persona/json.hpp>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}
inline double us_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
}

/// The p-quantile by the nearest-rank rule (p = 0.99: the value 99% of samples do not exceed).
inline double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    auto const rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}
inline double median(std::vector<double> const& v) { return percentile(v, 0.5); }

/// Resident bytes of this process, after giving freed heap pages back to the system
/// (otherwise a freed temporary would count as memory the store holds).
inline std::size_t rss_bytes() {
    malloc_trim(0);
    std::ifstream f("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// CPU seconds (user + system) that process `pid` has used so far, from /proc/PID/stat;
/// NaN if it cannot be read. A server's CPU per request moves far less with the machine's
/// other load than its requests/s does.
inline double cpu_seconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, utime and stime are fields 14 and 15.
    auto const close = stat.rfind(')');
    if (close == std::string::npos) return NAN;
    std::istringstream rest(stat.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 13; ++i) rest >> field;
    if (!(rest >> utime >> stime)) return NAN;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// A note of `words` words from a 30-word vocabulary plus a number, as bench/store.cpp
/// writes them: realistic length (one chunk per event), many shared terms.
inline std::string sentence(std::mt19937_64& rng, int words) {
    static constexpr char const* vocabulary[] = {
        "meeting", "coffee", "project", "deadline", "Lisbon", "budget", "design", "review", "prefers", "afternoon",
        "flight",  "dinner", "team",    "weekly",   "report", "focus",  "morning", "customer", "launch", "call",
        "invoice", "hiring", "offsite", "pricing",  "support", "roadmap", "garden", "piano", "tennis", "doctor"};
    std::string s;
    for (int i = 0; i < words; ++i) {
        if (i) s += ' ';
        s += vocabulary[rng() % std::size(vocabulary)];
    }
    return s + " " + std::to_string(rng() % 100000) + ".";
}

/// `n` events of 14 words for `user`, ids `<prefix><first>` onwards, one minute apart.
inline persona::ingest_request events(std::string const& user, std::string const& prefix, std::size_t first,
                                      std::size_t n, std::mt19937_64& rng) {
    persona::ingest_request in{.user_id = user, .source = "bench"};
    auto const t = std::chrono::sys_days{std::chrono::year{2025} / 1 / 1};
    in.events.reserve(n);
    for (std::size_t i = first; i < first + n; ++i)
        in.events.push_back({prefix + std::to_string(i), "note", t + std::chrono::minutes(i), sentence(rng, 14), {}});
    return in;
}

/// A /chunks request: one user turn of 6 words, top_k 5 (what an agent sends per turn).
inline persona::chunks_request chunks_query(std::string const& user, std::mt19937_64& rng) {
    return {.user_id = user, .conversation = {{"user", sentence(rng, 6)}}, .top_k = 5};
}

template <class T>
std::string to_body(T const& request) {
    return boost::json::serialize(boost::json::value_from(request));
}

/// `--name value` options with defaults; `--flag` alone is "1".
class args {
public:
    args(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            if (!a.starts_with("--") || !values_.count(a.substr(2))) {
                std::fprintf(stderr, "%s: unknown option '%s'; options and defaults:\n", argv[0], a.c_str());
                for (auto const& [k, v] : values_) std::fprintf(stderr, "  --%s %s\n", k.c_str(), v.c_str());
                std::exit(2);
            }
            bool const flag = i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--");
            values_[a.substr(2)] = flag ? "1" : argv[++i];
        }
    }
    std::string str(std::string const& k) const { return values_.at(k); }
    std::size_t num(std::string const& k) const { return std::stoul(values_.at(k)); }
    bool flag(std::string const& k) const { return values_.at(k) == "1"; }
    std::vector<std::size_t> list(std::string const& k) const {
        std::vector<std::size_t> out;
        std::string const s = values_.at(k);
        std::size_t start = 0;
        while (start < s.size()) {
            auto const end = std::min(s.find(',', start), s.size());
            if (end > start) out.push_back(std::stoul(s.substr(start, end - start)));
            start = end + 1;
        }
        return out;
    }

private:
    std::map<std::string, std::string> values_;
};

/// Rows for a gnuplot data file (whitespace-separated, one header line starting with #).
class plot_data {
public:
    explicit plot_data(std::string path) : path_(std::move(path)) {}
    void header(std::string h) { lines_.insert(lines_.begin(), "# " + std::move(h)); }
    void row(std::string r) { lines_.push_back(std::move(r)); }
    ~plot_data() {
        if (path_.empty()) return;
        std::ofstream f(path_);
        for (auto const& l : lines_) f << l << '\n';
    }

private:
    std::string path_;
    std::vector<std::string> lines_;
};

inline std::string fmt(char const* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

/// A free TCP port on 127.0.0.1 (bound to port 0, read back, released). A race with
/// another program taking it in between is possible but harmless: the start then fails.
inline int free_port() {
    int const fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("cannot find a free port");
    close(fd);
    return ntohs(a.sin_port);
}

/// A child process, stopped with SIGTERM (then SIGKILL) when this object dies.
class child_process {
public:
    explicit child_process(std::vector<std::string> argv) {
        std::vector<char*> a;
        for (auto& s : argv) a.push_back(s.data());
        a.push_back(nullptr);
        if (posix_spawn(&pid_, a[0], nullptr, nullptr, a.data(), environ) != 0)
            throw std::runtime_error("cannot start " + argv[0]);
    }
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;
    ~child_process() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

/// Run a command and return its standard output (for `persona-server keys add`).
inline std::string capture(std::string const& command) {
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buf[4096];
        while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

} // namespace bench

#endif
