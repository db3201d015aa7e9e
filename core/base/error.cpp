// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/error.h"

#include <cstring>

namespace core {

Error Error::from_errno(int errno_code, std::string what)
{
    what += ": ";
    what += std::strerror(errno_code);
    return Error(errno_code, std::move(what), false);
}

Error Error::with_context(std::string_view context) &&
{
    if (!context.empty())
        m_message = std::string(context) + ": " + m_message;
    return std::move(*this);
}

} // namespace core
