/* Gui.h - DECLARATIONS ONLY of Bela's GUI library calls a tinyrt render.cpp uses (Bela: libraries/Gui/Gui.h,
 * where DataBuffer lives in DataBuffer.h). Defined by tests/bela_stubs/harness.cpp for the tests. */
#ifndef TINYRT_TEST_BELA_GUI_H
#define TINYRT_TEST_BELA_GUI_H

#include <string>

class DataBuffer {
public:
    float *getAsFloat();
};

class Gui {
public:
    int setup(std::string projectName, unsigned int port = 5555, std::string address = "gui_data");
    int setBuffer(char bufferType, unsigned int size);
    DataBuffer &getDataBuffer(unsigned int bufferId);
};

#endif
