// Helper program for the SIGKILL test: index the saver corpus, save the index, write
// the search transcript to READY (aside, then renamed: its presence means the save is
// complete), and wait to be killed.
#include "faiss_test_data.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s INDEX_FILE READY_FILE\n", argv[0]);
        return 2;
    }
    persona::faiss_retriever r(persona_faiss_test::saver_options());
    for (auto const& [user, chunks] : persona_faiss_test::saver_corpus())
        if (!r.add(user, chunks)) return 1;
    if (auto saved = r.save(argv[1]); !saved) {
        std::fprintf(stderr, "%s\n", saved.error().message.c_str());
        return 1;
    }
    std::string const tmp = std::string(argv[2]) + ".tmp";
    std::ofstream(tmp, std::ios::binary) << persona_faiss_test::transcript(r);
    std::rename(tmp.c_str(), argv[2]);
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1)); // until SIGKILL
}
