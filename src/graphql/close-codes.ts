/** WebSocket close code for a subscriber that cannot keep up (its event queue or send buffer overflowed). */
export const CLOSE_SLOW_CONSUMER = 4008;
