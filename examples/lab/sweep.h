// Sweep syntax for the loss lab: a comma-separated list of registry specs in
// which any parameter may take a set of values in braces, expanded to the
// Cartesian product (in the order written, the last parameter fastest):
//
//   ce,poly1:epsilon={-1,0,1,2,4},focal:gamma={1,2},poly1_focal:epsilon={-1,1},gamma=2
//   -> ce, poly1:epsilon=-1, ..., poly1:epsilon=4, focal:gamma=1, focal:gamma=2,
//      poly1_focal:epsilon=-1,gamma=2, poly1_focal:epsilon=1,gamma=2
//
// An item with a ':' before its first '=' (or with no '=') starts a new spec;
// an item "key=value" continues the spec before it. Brackets ([1, 2]) are
// kept whole, as losses::make reads them. Bad syntax (an unclosed or nested
// brace, an empty set or value, a parameter before any loss name) throws
// polygrad::Error naming the position (1-based character) in the text. The
// specs are not checked against the registry here: losses::make does that.
#pragma once

#include <string>
#include <vector>

namespace polygrad::examples::lab {

std::vector<std::string> expand_sweep(const std::string &text);

} // namespace polygrad::examples::lab
