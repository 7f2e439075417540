#include <persona/http/server.hpp>
#include <persona/persona.hpp>

#include <iostream>

int main() {
    persona::basic_engine memory;
    auto const r = memory.register_user({.user_id = "consumer"});
    persona::http::server<persona::basic_engine> server(memory, {}, {.port = 0}); // persona::http links too
    std::cout << (r ? "consumer: persona works\n" : "consumer: register failed\n");
    return r ? 0 : 1;
}
