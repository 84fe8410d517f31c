#pragma once
// What marks an event (the control endpoint, SIGUSR1, a topic rule) and what is known of one
// afterwards. The daemon's control endpoint and signal handler speak these through Pipeline;
// event recording itself (the look-back ring and the event files) is lib/events, where the
// types are defined.
#include "events/event_request.hpp"

namespace mcaprec::pipeline {

using EventTrigger = events::EventTrigger;
using EventRequest = events::EventRequest;
using EventPhase = events::EventPhase;
using EventState = events::EventState;

}  // namespace mcaprec::pipeline
