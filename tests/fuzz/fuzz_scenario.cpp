// libFuzzer harness for the scenario loader: bytes -> JSON (with read_json_file's nesting limit) ->
// scenario_from_json. The expected outcomes are a Scenario, an InputError, or a JSON parse error; anything else
// (another exception, a crash, a sanitizer report) is a bug. A scenario that loads must also load again from its
// resolved form (to_json) and resolve to the same document.
#include "error.hpp"
#include "scenario.hpp"
#include "strict_json.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string file = "scenarios/fuzz.json";
  nlohmann::json doc;
  try {
    doc = scee::parse_json_text(text, file); // nesting, syntax, duplicate keys
  } catch (const scee::InputError&) { // nested too deep
    return 0;
  } catch (const nlohmann::json::exception&) { // syntax, or a number beyond a double (read_json_file's InputError)
    return 0;
  }
  scee::Scenario scenario;
  try {
    scenario = scee::scenario_from_json(doc, file);
  } catch (const scee::InputError&) {
    return 0;
  }
  // Outside any try: an exception here is a bug, and libFuzzer reports it as a crash.
  const nlohmann::json resolved = scee::to_json(scenario);
  const nlohmann::json again = scee::to_json(scee::scenario_from_json(resolved, file));
  if (again != resolved) {
    std::fprintf(stderr, "the resolved scenario does not load as itself:\n%s\n%s\n", resolved.dump().c_str(),
                 again.dump().c_str());
    std::abort();
  }
  return 0;
}
