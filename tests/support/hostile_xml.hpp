// Hostile XML for the bounded parse's tests (unit, integration, fuzz seeds): documents
// shaped to make an unbounded libxml2 parse slow or large, each inside an exec request
// (lrmd_command with its lrmd_calldata/lrmd_rsc/attributes path) so that it travels the
// agent's full request path, and a CIB-sized proxy message that must pass.
#pragma once

#include <cstddef>
#include <string>

namespace outpost::test {

// An exec request whose <attributes> element carries `count` parameters.
std::string exec_with_attributes(std::size_t count);
// An exec request whose <attributes> element carries `count` empty children.
std::string exec_with_elements(std::size_t count);
// An exec request with one parameter value of `bytes` bytes.
std::string exec_with_long_value(std::size_t bytes);
// An exec request with `depth` nested elements below <attributes>.
std::string exec_with_depth(std::size_t depth);
// `elements` elements with `per_element` attributes each (duplicate-check work).
std::string exec_with_wide_elements(std::size_t elements, std::size_t per_element);
// `count` namespace declarations, then prefixed attributes looked up against them.
std::string exec_with_namespaces(std::size_t count);
// A mismatched end tag (libxml2 carries on after it), followed by `count` attributes.
std::string malformed_then_attributes(std::size_t count);
// A proxied CIB (lrmd_ipc_proxy carrying cib_query's reply) of about `bytes` bytes, shaped
// as a large cluster's status section: lrm_rsc_op entries of 21 attributes.
std::string proxied_cib(std::size_t bytes);

}  // namespace outpost::test
