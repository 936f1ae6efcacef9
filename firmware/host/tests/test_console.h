/* Scripted console for the C tests: the test pushes request bytes and collects decoded frames. */
#ifndef RSAGEN_TEST_CONSOLE_H
#define RSAGEN_TEST_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t request_id;
    uint16_t length;
    uint8_t payload[1024];
} tc_frame_t;

void tc_push(const uint8_t *bytes, size_t len);
void tc_close(void);
/* Encodes and pushes one request frame. */
void tc_send(uint8_t type, uint16_t id, const uint8_t *payload, size_t len);
/* Waits for the first frame with this type and request id; removes and returns it. */
bool tc_wait_frame(uint8_t type, uint16_t id, uint32_t timeout_ms, tc_frame_t *out);
/* Waits for a response (type|0x80) or an ERROR (0xFF) to request id. */
bool tc_wait_answer(uint16_t id, uint32_t timeout_ms, tc_frame_t *out);
/* True if the console text written so far contains s. */
bool tc_text_contains(const char *s);
/* Frames received in total. */
unsigned tc_frames_seen(void);

#endif
