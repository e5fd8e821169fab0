// Predefined sparse connectivity of one junction (Dey et al.): p inputs, n outputs, every input has exactly `fo`
// outgoing edges and every output exactly fi = p*fo/n incoming ones. Fixed before training, seeded, reproducible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scee {

/// Fan-outs valid for a junction of p inputs and n outputs: fo in [1, n] with p*fo divisible by n.
std::vector<int> valid_fan_outs(int p, int n);

/// The valid fan-out whose density fo/n is nearest to `density` (ties go to the denser one).
/// Throws InputError if density is not in (0, 1].
int fan_out_for_density(int p, int n, double density);

/// Throws InputError naming the valid fan-outs unless fo is valid for (p, n). `what` prefixes the message; `noun`
/// names what connects p to n ("junction", "convolution's channels").
void check_fan_out(int p, int n, int fo, const std::string& what, const std::string& noun = "junction");

/// Throws InputError ("<what>: ...") unless `inputs` holds n rows of fi = p*fo/n sorted, distinct input indices in
/// [0, p) and every input appears in exactly fo rows.
void check_connectivity(int p, int n, int fo, const std::vector<std::vector<int>>& inputs, const std::string& what);

/// For each of the n outputs, the sorted list of its fi input indices. fo == n gives full connectivity.
std::vector<std::vector<int>> make_connectivity(int p, int n, int fo, std::uint64_t seed);

} // namespace scee
