#include <persona/persona.hpp>

#include <iostream>

int main() {
    persona::basic_engine memory;
    auto const r = memory.register_user({.user_id = "consumer"});
    std::cout << (r ? "consumer: persona works\n" : "consumer: register failed\n");
    return r ? 0 : 1;
}
