/* SPDX-License-Identifier: GPL-2.0-only OR MIT
 *
 * Promela model of lazyidle::waiter's park/unpark protocol
 * (include/lazyidle/hosted/wait.hpp, docs/waiter.md).
 *
 * One waiter waits twice: for sent >= 1, then for sent >= 2. Two notifiers
 * each make the predicate truer (sent++) and then notify. Every atomic
 * read-modify-write of the C++ code is one atomic step here; futex_wait is
 * one atomic "sleep if word == expected" step, as the kernel does it under
 * its hash-bucket lock; futex_wake wakes the sleeper if there is one. The
 * waiter may also wake spuriously (at most SPURIOUS times), and its poll may
 * see the predicate or give up at any point.
 *
 * A lost wakeup is the waiter asleep for good while sent is already high
 * enough and both notifiers have finished: SPIN reports that as an invalid
 * end state. The assertion checks the waiter never returns early.
 *
 * Each MUTANT_* macro removes one rule of the protocol; tests/model/check.sh
 * requires SPIN to find a counterexample for every mutant, so the model is
 * shown able to fail, not merely to pass.
 */
#define PARKED 1
#define SEQ_STEP 2
#ifndef SPURIOUS
#define SPURIOUS 1
#endif

byte word = 0;      /* (sequence << 1) | PARKED, wraps mod 256 */
byte sent = 0;      /* the predicate: round i waits for sent >= i */
bool sleeping = false;
byte spurious = 0;

active proctype waiter() {
  byte round = 1;
  byte expected;
next_round:
  /* poll phase: the budget may run out before or after the notify */
  if
  :: sent >= round -> goto satisfied
  :: true -> skip
  fi;
park:
  atomic { word = word | PARKED; expected = word };        /* fetch_or(PARKED) */
#ifndef MUTANT_NO_RECHECK
  if
  :: sent >= round -> word = word & (255 - PARKED); goto satisfied  /* re-check after publishing */
  :: else -> skip
  fi;
#endif
  atomic {                                                   /* futex_wait(word, expected) */
    if
    :: word == expected -> sleeping = true
    :: else -> skip                                          /* EAGAIN: the word moved */
    fi
  };
  if
  :: !sleeping -> skip                                       /* woken (or never slept) */
  :: atomic { sleeping && spurious < SPURIOUS -> sleeping = false; spurious++ }
  fi;
  word = word & (255 - PARKED);                              /* fetch_and(~PARKED) */
  if
  :: sent >= round -> goto satisfied
  :: else -> goto park
  fi;
satisfied:
  assert(sent >= round);
  round++;
  if
  :: round <= 2 -> goto next_round
  :: else -> skip
  fi
}

active [2] proctype notifier() {
  byte v;
#ifdef MUTANT_CHECK_BEFORE_PUBLISH
  v = word;                                                  /* looks at PARKED too early */
  sent++;
#else
  sent++;                                                    /* make the predicate true ... */
  v = word;                                                  /* ... then fetch_or(0) */
#endif
retry:
  if
  :: (v & PARKED) ->
#ifdef MUTANT_NO_WORD_CHANGE
     skip;                                                   /* wake without changing the word */
#else
     atomic {                                                /* CAS(word, v, (v + 2) & ~PARKED) */
       if
       :: word == v -> word = (v + SEQ_STEP) & (255 - PARKED)
       :: else -> v = word; goto retry
       fi
     };
#endif
     atomic { if :: sleeping -> sleeping = false :: else -> skip fi }   /* futex_wake(1) */
  :: else -> skip
  fi
}
