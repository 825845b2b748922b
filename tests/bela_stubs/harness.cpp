/* harness.cpp - run a tinyrt render.cpp off the board: defines the Bela calls of Bela.h / Gui.h (tests only).
 * Usage: harness SAMPLE_RATE FRAMES [g:BLOCK:SLOT:VALUE | a:BLOCK:CHANNEL:VALUE]... < in.f32 > out.f32
 * Mono float32 in; out: per frame, output channels 0 and 1. Audio buffers non-interleaved, as Bela's default.
 * g: sets GUI buffer 0 slot SLOT before render() of block BLOCK; a: sets analog input CHANNEL from that block on. */
#include <Bela.h>
#include <libraries/Gui/Gui.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static const int kAnalogChannels = 8;
static float guiData[64];
static DataBuffer guiBuffer;
static std::vector<float> analogNow(kAnalogChannels, 0.0f);

float *DataBuffer::getAsFloat() { return guiData; }
int Gui::setup(std::string, unsigned int, std::string) { return 0; }
int Gui::setBuffer(char, unsigned int) { return 0; }
DataBuffer &Gui::getDataBuffer(unsigned int) { return guiBuffer; }

float audioRead(BelaContext *context, int frame, int channel)
{
    return context->audioIn[channel * context->audioFrames + frame];
}

void audioWrite(BelaContext *context, int frame, int channel, float value)
{
    context->audioOut[channel * context->audioFrames + frame] = value;
}

float analogRead(BelaContext *context, int frame, int channel)
{
    return context->analogIn[channel * context->analogFrames + frame];
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    float rate = (float)atof(argv[1]);
    unsigned frames = (unsigned)atoi(argv[2]);
    std::vector<float> input;
    float x;
    while (fread(&x, sizeof x, 1, stdin) == 1)
        input.push_back(x);
    std::vector<float> in(2 * frames), out(2 * frames), analog(kAnalogChannels * (frames / 2)), analogOut(8);
    BelaContext context = {in.data(), out.data(), analog.data(), analogOut.data(), frames, 2, 2, rate,
                           frames / 2, kAnalogChannels, 0, rate / 2, "tinyrt_test"};
    if (!setup(&context, 0)) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (unsigned block = 0; (block + 1) * frames <= input.size(); block++) {
        for (int k = 3; k < argc; k++) {
            char kind;
            unsigned when;
            int slot;
            float value;
            if (sscanf(argv[k], "%c:%u:%d:%f", &kind, &when, &slot, &value) != 4 || when != block)
                continue;
            if (kind == 'g')
                guiData[slot] = value;
            else
                analogNow[slot] = value;
        }
        for (int ch = 0; ch < kAnalogChannels; ch++)
            for (unsigned n = 0; n < frames / 2; n++)
                analog[ch * (frames / 2) + n] = analogNow[ch];
        for (unsigned n = 0; n < frames; n++) {
            in[n] = input[block * frames + n];
            in[frames + n] = 0.0f;
        }
        render(&context, 0);
        for (unsigned n = 0; n < frames; n++) {
            fwrite(&out[n], sizeof(float), 1, stdout);
            fwrite(&out[frames + n], sizeof(float), 1, stdout);
        }
    }
    cleanup(&context, 0);
    return 0;
}
