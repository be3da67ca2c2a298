#pragma once
// Moves every element of `from` to the end of `to`.

#include <iterator>
#include <vector>

namespace seatd::common {

template <class T>
void append_all(std::vector<T>& to, std::vector<T> from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace seatd::common
