#include <cstdio>

int main() {
  std::puts("mcaprec: not implemented yet");
  return 0;
}
