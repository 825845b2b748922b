/* Bela.h - DECLARATIONS ONLY of the Bela API calls a tinyrt render.cpp uses, for compiling it off the board
 * (tests/test_bela.py). The real header comes with Bela (github.com/BelaPlatform/Bela, include/Bela.h), where
 * audioRead/audioWrite/analogRead are inline functions and BelaContext has more fields; the names and
 * types below are Bela's. tests/bela_stubs/harness.cpp defines them to run render.cpp under qemu-arm. */
#ifndef TINYRT_TEST_BELA_H
#define TINYRT_TEST_BELA_H

#include <stdint.h>

#define MAX_PROJECTNAME_LENGTH 256

struct BelaContext {
    const float * const audioIn;
    float * const audioOut;
    const float * const analogIn;
    float * const analogOut;
    const uint32_t audioFrames;
    const uint32_t audioInChannels;
    const uint32_t audioOutChannels;
    const float audioSampleRate;
    const uint32_t analogFrames;
    const uint32_t analogInChannels;
    const uint32_t analogOutChannels;
    const float analogSampleRate;
    char projectName[MAX_PROJECTNAME_LENGTH];
};

bool setup(BelaContext *context, void *userData);
void render(BelaContext *context, void *userData);
void cleanup(BelaContext *context, void *userData);

float audioRead(BelaContext *context, int frame, int channel);
void audioWrite(BelaContext *context, int frame, int channel, float value);
float analogRead(BelaContext *context, int frame, int channel);

#endif
