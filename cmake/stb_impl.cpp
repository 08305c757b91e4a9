// stb's implementation compiled from Debian's headers (libstb-dev), for the
// sanitizer and fuzz builds only (CMakeLists.txt: pg_stb): Debian's libstb.so
// is not instrumented, so ASan, UBSan and libFuzzer's coverage would not see
// inside stb. The other builds link libstb.so, as packaged.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>
