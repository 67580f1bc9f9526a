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
 * With -DEVENT the model is lazyidle::event's set() instead: the predicate
 * is a flag bit in the same word, and a setter publishes it with the one
 * read-modify-write that also tells it whether the waiter is parked
 * (fetch_or(FLAG)), then wakes if so. The waiter waits once.
 *
 * Each MUTANT_* macro removes one rule of the protocol; tests/model/check.sh
 * requires SPIN to find a counterexample for every mutant, so the model is
 * shown able to fail, not merely to pass.
 */
#define PARKED 1
#define SEQ_STEP 2
#define FLAG 128
#ifdef EVENT
#define READY(round) ((word & FLAG) != 0)
#define ROUNDS 1
#else
#define READY(round) (sent >= round)
#define ROUNDS 2
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif

byte word = 0;      /* (sequence << 1) | PARKED, wraps mod 128; FLAG: the event's flag */
byte sent = 0;      /* the predicate: round i waits for sent >= i */
bool sleeping = false;
byte spurious = 0;

active proctype waiter() {
  byte round = 1;
  byte expected;
next_round:
  /* poll phase: the budget may run out before or after the notify */
  if
  :: READY(round) -> goto satisfied
  :: true -> skip
  fi;
park:
  atomic { word = word | PARKED; expected = word };        /* fetch_or(PARKED) */
#ifndef MUTANT_NO_RECHECK
  if
  :: READY(round) -> word = word & (255 - PARKED); goto satisfied  /* re-check after publishing */
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
  :: READY(round) -> goto satisfied
  :: else -> goto park
  fi;
satisfied:
  assert(READY(round));
  round++;
  if
  :: round <= ROUNDS -> goto next_round
  :: else -> skip
  fi
}

active [2] proctype notifier() {
  byte v;
#ifdef EVENT
#ifdef MUTANT_EVENT_LOAD_THEN_SET
  v = word;                                                  /* decides on a load ... */
  atomic { word = word | FLAG };                             /* ... then publishes */
#else
  atomic { v = word; word = word | FLAG };                   /* fetch_or(FLAG): publish and look */
#endif
  if
  :: (v & FLAG) -> skip                                      /* already set: its setter woke */
  :: else ->
     if
     :: (v & PARKED) -> atomic { if :: sleeping -> sleeping = false :: else -> skip fi }  /* futex_wake */
     :: else -> skip
     fi
  fi
#else
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
       :: word == v -> word = ((v + SEQ_STEP) & (127 - PARKED)) | (v & FLAG)
       :: else -> v = word; goto retry
       fi
     };
#endif
     atomic { if :: sleeping -> sleeping = false :: else -> skip fi }   /* futex_wake(1) */
  :: else -> skip
  fi
#endif
}
