// Catch2 listeners: state every test case starts from.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <polygrad/nn/conv2d.h>

namespace {

// Test cases that force a conv algorithm reset it at their end; one whose
// REQUIRE fails never gets there, and the cases after it would run under its
// choice (one failure seen as several). Every case starts from Auto.
struct ResetConvAlgorithm : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo &) override {
    polygrad::nn::set_conv_algorithm(polygrad::nn::ConvAlgorithm::Auto);
  }
};

} // namespace

CATCH_REGISTER_LISTENER(ResetConvAlgorithm)
