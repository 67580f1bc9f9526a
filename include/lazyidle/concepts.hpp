// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Customisation points as C++17-style detection traits (usable from any
// dialect, one trait per requirement) with a C++20 concept layer on top.
// check_predictor<P>() / check_poll_policy<P>() fire one static_assert per
// unmet requirement, so a wrong type gets a sentence, not a template dump.
// docs/concepts.md has the same requirements as tables.
#ifndef LAZYIDLE_CONCEPTS_HPP
#define LAZYIDLE_CONCEPTS_HPP

#include "vocabulary.hpp"

namespace lazyidle {
namespace detail {

template <class...>
using void_t = void;
template <class T>
T&& declval() noexcept;
template <class T>
struct remove_cvref {
  using type = T;
};
template <class T>
struct remove_cvref<const T> : remove_cvref<T> {};
template <class T>
struct remove_cvref<T&> : remove_cvref<T> {};
template <class T>
struct remove_cvref<T&&> : remove_cvref<T> {};
template <class T>
using remove_cvref_t = typename remove_cvref<T>::type;

template <class A, class B>
inline constexpr bool is_same = false;
template <class A>
inline constexpr bool is_same<A, A> = true;

#define LAZYIDLE_DETECT(trait, expr)                                  \
  template <class T, class = void>                                    \
  struct trait {                                                      \
    static constexpr bool value = false;                              \
  };                                                                  \
  template <class T>                                                  \
  struct trait<T, void_t<decltype(expr)>> {                           \
    static constexpr bool value = true;                               \
    using type = decltype(expr);                                      \
  };

LAZYIDLE_DETECT(has_observe, declval<T&>().observe(declval<const idle_sample&>()))
LAZYIDLE_DETECT(has_predict, declval<const T&>().predict(duration_ns{}))
LAZYIDLE_DETECT(has_reset, declval<T&>().reset())
LAZYIDLE_DETECT(has_name, T::name)
LAZYIDLE_DETECT(has_budget, declval<T&>().budget(declval<const poll_request&>()))
LAZYIDLE_DETECT(has_reflect, declval<T&>().reflect(declval<const idle_outcome&>()))
LAZYIDLE_DETECT(has_worst_case_ratio, declval<const T&>().worst_case_ratio_q10())
LAZYIDLE_DETECT(has_best_threshold, declval<const T&>().best_threshold(duration_ns{}))
LAZYIDLE_DETECT(has_quantile, declval<const T&>().quantile(u32{}))
#undef LAZYIDLE_DETECT

template <class Trait, class Expected>
constexpr bool returns() {
  if constexpr (Trait::value) {
    return is_same<typename Trait::type, Expected>;
  } else {
    return false;
  }
}

}  // namespace detail

// ---- predictor -----------------------------------------------------------
template <class P>
inline constexpr bool is_predictor_v =
    detail::has_observe<P>::value && detail::returns<detail::has_predict<P>, prediction>() &&
    detail::has_reset<P>::value && detail::has_name<P>::value;

template <class P>
constexpr bool check_predictor() {
  static_assert(detail::has_observe<P>::value, "predictor: needs void observe(const idle_sample&)");
  static_assert(detail::returns<detail::has_predict<P>, prediction>(),
                "predictor: needs prediction predict(duration_ns bound) const");
  static_assert(detail::has_reset<P>::value, "predictor: needs void reset()");
  static_assert(detail::has_name<P>::value, "predictor: needs static constexpr const char* name");
  return true;
}

// A predictor that summarises the recent distribution well enough to give
// the threshold that would have minimised the recent total cost.
template <class P>
inline constexpr bool is_distribution_predictor_v =
    is_predictor_v<P> && detail::returns<detail::has_best_threshold<P>, duration_ns>() &&
    detail::returns<detail::has_quantile<P>, duration_ns>();

// ---- poll policy -----------------------------------------------------------
template <class P>
inline constexpr bool is_poll_policy_v =
    detail::returns<detail::has_budget<P>, duration_ns>() && detail::has_reflect<P>::value &&
    detail::has_reset<P>::value && detail::has_name<P>::value &&
    detail::returns<detail::has_worst_case_ratio<P>, u32>();

template <class P>
constexpr bool check_poll_policy() {
  static_assert(detail::returns<detail::has_budget<P>, duration_ns>(),
                "poll policy: needs duration_ns budget(const poll_request&)");
  static_assert(detail::has_reflect<P>::value, "poll policy: needs void reflect(const idle_outcome&)");
  static_assert(detail::has_reset<P>::value, "poll policy: needs void reset()");
  static_assert(detail::has_name<P>::value, "poll policy: needs static constexpr const char* name");
  static_assert(detail::returns<detail::has_worst_case_ratio<P>, u32>(),
                "poll policy: needs u32 worst_case_ratio_q10() const (u32_max when unbounded)");
  return true;
}

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
template <class P>
concept predictor = is_predictor_v<P>;
template <class P>
concept distribution_predictor = is_distribution_predictor_v<P>;
template <class P>
concept poll_policy = is_poll_policy_v<P>;
#endif

}  // namespace lazyidle

#endif
